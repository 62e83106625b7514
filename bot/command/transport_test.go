package command

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
)

// jobLog records what a Runner did with one job, in order.
type jobLog struct {
	mu     sync.Mutex
	events []string
	// followed receives the follow-up's reply; answered the direct answer's.
	followed, answered chan bot.Reply
	ranCtx             context.Context
}

func newJobLog() *jobLog {
	return &jobLog{followed: make(chan bot.Reply, 1), answered: make(chan bot.Reply, 1)}
}

func (l *jobLog) add(e string) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *jobLog) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// job returns a Job that logs each step and runs run.
func (l *jobLog) job(slow bool, run func(ctx context.Context) bot.Reply) Job {
	return Job{
		Slow: slow,
		Run: func(ctx context.Context) bot.Reply {
			l.mu.Lock()
			l.ranCtx = ctx
			l.mu.Unlock()
			l.add("run")
			r := run(ctx)
			l.add("ran")
			return r
		},
		Answer: func(_ context.Context, r bot.Reply) {
			l.add("answer")
			l.answered <- r
		},
		Defer: func(context.Context) { l.add("defer") },
		FollowUp: func(_ context.Context, r bot.Reply) {
			l.add("follow-up")
			l.followed <- r
		},
	}
}

func reply(text string) bot.Reply { return bot.Reply{Text: []string{text}} }

func quick(context.Context) bot.Reply { return reply("done") }

// gated returns a Run that waits until gate is closed.
func gated(gate chan struct{}) func(context.Context) bot.Reply {
	return func(context.Context) bot.Reply {
		<-gate
		return reply("done")
	}
}

func text(r bot.Reply) string { return strings.Join(r.Text, "\n") }

// The budgets below are an hour (the job certainly finishes first) or a nanosecond with a job that cannot finish
// before the test lets it: which way Do goes never depends on the machine's speed.
func TestRunner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("answers directly within the budget", func(t *testing.T) {
		t.Parallel()
		r := NewRunner(RunnerOptions{Budget: time.Hour, FollowUpWindow: time.Hour})
		l := newJobLog()
		if got := r.Do(ctx, l.job(false, quick)); got != Answered {
			t.Fatalf("Do = %v, want Answered", got)
		}
		r.Drain()
		if got := text(<-l.answered); got != "done" {
			t.Errorf("answer %q", got)
		}
		if got := strings.Join(l.got(), " "); got != "run ran answer" {
			t.Errorf("events %q, want run ran answer", got)
		}
	})

	t.Run("defers after the budget and follows up", func(t *testing.T) {
		t.Parallel()
		r := NewRunner(RunnerOptions{Budget: time.Nanosecond, FollowUpWindow: time.Hour})
		l := newJobLog()
		gate := make(chan struct{})
		if got := r.Do(ctx, l.job(false, gated(gate))); got != Deferred {
			t.Fatalf("Do = %v, want Deferred", got)
		}
		close(gate)
		if got := text(<-l.followed); got != "done" {
			t.Errorf("follow-up %q", got)
		}
		r.Drain()
		// "run" may come before or after "defer"; the job can only finish after it.
		ev := slices.DeleteFunc(l.got(), func(e string) bool { return e == "run" })
		if got := strings.Join(ev, " "); got != "defer ran follow-up" {
			t.Errorf("events %q, want defer ran follow-up", got)
		}
	})

	t.Run("slow jobs are deferred at once, and followed up only after the acknowledgement", func(t *testing.T) {
		t.Parallel()
		r := NewRunner(RunnerOptions{Budget: time.Hour, FollowUpWindow: time.Hour})
		l := newJobLog()
		// The job may well finish before Defer is called: its follow-up must still wait for the acknowledgement.
		if got := r.Do(ctx, l.job(true, quick)); got != Deferred {
			t.Fatalf("Do = %v, want Deferred", got)
		}
		<-l.followed
		r.Drain()
		ev := l.got()
		if slices.Contains(ev, "answer") || slices.Index(ev, "defer") > slices.Index(ev, "follow-up") {
			t.Errorf("events %q: want defer, then the follow-up, and no direct answer", ev)
		}
	})

	t.Run("busy past the limit", func(t *testing.T) {
		t.Parallel()
		r := NewRunner(RunnerOptions{Budget: time.Hour, FollowUpWindow: time.Hour, Limit: 2})
		gate := make(chan struct{})
		held := []*jobLog{newJobLog(), newJobLog()}
		for _, l := range held {
			if got := r.Do(ctx, l.job(true, gated(gate))); got != Deferred {
				t.Fatalf("Do = %v, want Deferred", got)
			}
		}
		l := newJobLog()
		if got := r.Do(ctx, l.job(false, quick)); got != Busy {
			t.Fatalf("third Do = %v, want Busy", got)
		}
		if got := <-l.answered; !got.Private || !strings.Contains(text(got), "busy") {
			t.Errorf("busy answer %+v", got)
		}
		close(gate)
		r.Drain()
		if got := strings.Join(l.got(), " "); got != "answer" {
			t.Errorf("the refused job: events %q, want only the busy answer", got)
		}
		for _, h := range held {
			if got := text(<-h.followed); got != "done" {
				t.Errorf("held job's follow-up %q", got)
			}
		}
	})

	t.Run("drain waits for the jobs in flight and their follow-ups", func(t *testing.T) {
		t.Parallel()
		r := NewRunner(RunnerOptions{Budget: time.Hour, FollowUpWindow: time.Hour})
		l := newJobLog()
		gate := make(chan struct{})
		r.Do(ctx, l.job(true, gated(gate)))
		drained := make(chan struct{})
		go func() { r.Drain(); close(drained) }()
		select {
		case <-drained:
			t.Fatal("Drain returned with a job in flight")
		default:
		}
		close(gate)
		<-drained
		select {
		case <-l.followed:
		default:
			t.Fatal("Drain returned before the follow-up")
		}
		l.mu.Lock()
		ranCtx := l.ranCtx
		l.mu.Unlock()
		if err := ranCtx.Err(); err == nil {
			t.Error("the job's context outlived the job")
		}
		late := newJobLog()
		if got := r.Do(ctx, late.job(false, quick)); got != Busy {
			t.Errorf("Do after Drain = %v, want Busy", got)
		}
	})

	t.Run("drain cancels what outlasts the drain timeout", func(t *testing.T) {
		t.Parallel()
		r := NewRunner(RunnerOptions{Budget: time.Hour, FollowUpWindow: time.Hour, DrainTimeout: time.Millisecond})
		l := newJobLog()
		r.Do(ctx, l.job(true, func(ctx context.Context) bot.Reply {
			<-ctx.Done() // only a cancellation ends it
			return reply(ctx.Err().Error())
		}))
		r.Drain()
		if got := text(<-l.followed); got != context.Canceled.Error() {
			t.Errorf("follow-up %q, want the job cancelled", got)
		}
	})

	t.Run("the job runs within the follow-up window", func(t *testing.T) {
		t.Parallel()
		r := NewRunner(RunnerOptions{Budget: time.Hour, FollowUpWindow: time.Minute})
		l := newJobLog()
		start := time.Now()
		r.Do(ctx, l.job(false, func(ctx context.Context) bot.Reply {
			dl, ok := ctx.Deadline()
			if !ok || dl.After(start.Add(time.Minute).Add(time.Second)) {
				return reply("no deadline within the window")
			}
			return reply("done")
		}))
		r.Drain()
		if got := text(<-l.answered); got != "done" {
			t.Error(got)
		}
	})

	// Finishing and running out of budget at the same moment must deliver the reply exactly once, one way or the
	// other. A zero budget makes both orders happen across the iterations; only the invariant is asserted.
	t.Run("finish and budget race", func(t *testing.T) {
		t.Parallel()
		for range 200 {
			r := NewRunner(RunnerOptions{Budget: 0, FollowUpWindow: time.Hour})
			l := newJobLog()
			got := r.Do(ctx, l.job(false, quick))
			r.Drain()
			ev := strings.Join(l.got(), " ")
			switch got {
			case Answered:
				if ev != "run ran answer" || text(<-l.answered) != "done" {
					t.Fatalf("answered: events %q", ev)
				}
			case Deferred:
				if !slices.Contains([]string{"run defer ran follow-up", "run ran defer follow-up", "defer run ran follow-up"}, ev) || text(<-l.followed) != "done" {
					t.Fatalf("deferred: events %q", ev)
				}
			default:
				t.Fatalf("Do = %v", got)
			}
		}
	})
}
