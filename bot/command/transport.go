package command

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
)

// ReadCappedBody reads a request body of at most max bytes for a signed endpoint, which must hold the whole raw
// body to verify its signature. On failure it has already answered (413 for a body over max, 400 otherwise) and
// returns false.
func ReadCappedBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// Defaults of a Runner.
const (
	// DrainTimeout is how long a transport lets the commands in flight finish at shutdown before it cancels
	// them: enough for a look-up, or a backfill, and its follow-up post, without holding up a stop for long. A
	// command cut off here was acknowledged but gets no reply.
	DrainTimeout = 10 * time.Second
	// MaxJobs bounds the commands running at once per transport, so a flood of requests cannot start
	// unbounded work; past it, commands are answered "busy".
	MaxJobs = 16
)

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	// Budget is how long a command may run before it is acknowledged and answered later; it must leave the
	// platform's deadline (3 s for Slack and Discord) room for the answer to travel.
	Budget time.Duration
	// FollowUpWindow bounds a command's work and its follow-up, as the platform's reply token lives.
	FollowUpWindow time.Duration
	// Limit is how many commands may run at once; MaxJobs when 0.
	Limit int
	// DrainTimeout replaces the package's DrainTimeout when not 0 (tests).
	DrainTimeout time.Duration
}

// Runner runs a transport's commands: it answers directly when a command finishes within the budget, otherwise
// acknowledges it and follows up when it is done, answers "busy" past its concurrency limit, and drains the
// commands in flight at shutdown. It is safe for concurrent use.
type Runner struct {
	budget, window, drainTimeout time.Duration
	limit                        int

	// bg is the commands' lifetime, cancelled when Drain gives up waiting for them.
	bg     context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	running int
	closed  bool
	wg      sync.WaitGroup // the commands in flight; Add only under mu, before closed
}

// NewRunner returns a Runner.
func NewRunner(opts RunnerOptions) *Runner {
	r := &Runner{
		budget:       opts.Budget,
		window:       opts.FollowUpWindow,
		drainTimeout: cmp.Or(opts.DrainTimeout, DrainTimeout),
		limit:        cmp.Or(opts.Limit, MaxJobs),
	}
	r.bg, r.cancel = context.WithCancel(context.Background())
	return r
}

// Job is one command for Runner.Do: its work and the transport's three ways of delivering the outcome. All four
// functions are required.
type Job struct {
	// Slow jobs are acknowledged at once instead of after the budget (Subcommand.Slow, or a transport that always
	// acknowledges first).
	Slow bool
	// Run does the work and returns the reply, failures already turned into one. Its context ends after the
	// follow-up window, or when Drain gives up.
	Run func(ctx context.Context) bot.Reply
	// Answer delivers a reply as the direct answer: the command's own reply within the budget, or the busy
	// reply. It is called on Do's goroutine, with Do's context, at most once.
	Answer func(ctx context.Context, reply bot.Reply)
	// Defer acknowledges the command without its reply. It is called on Do's goroutine, with Do's context, at
	// most once, and never together with Answer.
	Defer func(ctx context.Context)
	// FollowUp delivers the reply of a deferred command, after Defer returned, on the job's goroutine and with
	// Run's context.
	FollowUp func(ctx context.Context, reply bot.Reply)
}

// Outcome says how Do delivered a command.
type Outcome int

// Outcomes of Do.
const (
	// Answered: the reply went out as the direct answer.
	Answered Outcome = iota + 1
	// Deferred: the command was acknowledged; its reply follows through FollowUp.
	Deferred
	// Busy: the limit was reached, or the Runner is draining; the busy reply went out as the answer and the
	// command did not run.
	Busy
)

// BusyReply is the answer to a command that finds every slot taken.
func BusyReply() bot.Reply {
	return failed("paperboy is busy answering other commands; please try again in a moment.")
}

// Do runs job and returns once the command is answered or acknowledged; a deferred job goes on in the
// background.
func (r *Runner) Do(ctx context.Context, job Job) Outcome {
	if !r.acquire() {
		job.Answer(ctx, BusyReply())
		return Busy
	}
	// The job's goroutine and Do race to settle the command: the goroutine claims the direct answer when it
	// finishes first (direct), Do claims the acknowledgement when the budget runs out first (deferred).
	const pending, direct, deferred = 0, 1, 2
	var state atomic.Int32
	if job.Slow {
		state.Store(deferred)
	}
	done := make(chan bot.Reply, 1)
	acked := make(chan struct{})
	jobCtx, cancel := context.WithTimeout(r.bg, r.window)
	go func() {
		defer r.release()
		defer cancel()
		reply := job.Run(jobCtx)
		if state.CompareAndSwap(pending, direct) {
			done <- reply
			return
		}
		<-acked // a follow-up must not overtake the acknowledgement (Discord edits the deferred message)
		job.FollowUp(jobCtx, reply)
	}()
	if !job.Slow {
		t := time.NewTimer(r.budget)
		defer t.Stop()
		select {
		case reply := <-done:
			job.Answer(ctx, reply)
			return Answered
		case <-t.C:
		}
		if !state.CompareAndSwap(pending, deferred) {
			job.Answer(ctx, <-done) // it finished just as the budget ran out
			return Answered
		}
	}
	defer close(acked)
	job.Defer(ctx)
	return Deferred
}

// acquire takes a slot without waiting; false when all are taken or the Runner is draining.
func (r *Runner) acquire() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.running >= r.limit {
		return false
	}
	r.running++
	r.wg.Add(1)
	return true
}

func (r *Runner) release() {
	r.mu.Lock()
	r.running--
	r.mu.Unlock()
	r.wg.Done()
}

// Drain refuses new commands (they are answered "busy") and waits for those in flight, including their
// follow-ups; after the drain timeout it cancels their context and waits for them to return. Call it when the
// transport stopped receiving; calling it again only waits.
func (r *Runner) Drain() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	t := time.NewTimer(r.drainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		r.cancel()
		<-done
	}
	r.cancel()
}
