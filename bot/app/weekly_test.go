package app

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// uploadingPlatform is a fakePlatform that can also upload files (bot.Uploader), and logs sends and uploads in
// the order they happened.
type uploadingPlatform struct {
	*fakePlatform
	mu         sync.Mutex
	events     []string
	uploads    []bot.File
	texts      []string
	failUpload error
}

func (u *uploadingPlatform) Send(ctx context.Context, msg bot.Message) (string, error) {
	id, err := u.fakePlatform.Send(ctx, msg)
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		u.events = append(u.events, "send failed")
	} else {
		u.events = append(u.events, "send")
	}
	return id, err
}

func (u *uploadingPlatform) Upload(_ context.Context, _ channel.Ref, text string, files []bot.File) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.events = append(u.events, "upload")
	if u.failUpload != nil {
		return "", u.failUpload
	}
	u.uploads = append(u.uploads, files...)
	u.texts = append(u.texts, text)
	return "F1", nil
}

func (u *uploadingPlatform) log() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return strings.Join(u.events, ",")
}

// testWeeklyDigest: a weekly digest fires on its day only, starts with the trends chart, and posts the chart once
// per digest even when the digest itself has to be sent again; a chart the platform refuses does not hold the
// digest back.
func testWeeklyDigest(t *testing.T, newEngineFixture fixtureFunc) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		failUpload error
		failSend   int // the send call that fails with a retryable error, 0 for none
		want       string
	}{
		{"chart first", nil, 0, "upload,send"},
		{"digest resent, chart not", nil, 1, "upload,send failed,send"},
		{"chart refused", &bot.PermanentError{Reason: "missing_scope"}, 0, "upload,send"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newEngineFixture(t)
			up := &uploadingPlatform{fakePlatform: f.plat, failUpload: tt.failUpload}
			f.plat.fail = func(call int, _ bot.Message) error {
				if call == tt.failSend {
					return errors.New("502 bad gateway")
				}
				return nil
			}
			// Friday 2026-03-27; the digest is on Mondays at 09:00 Berlin time (summer time from Sunday).
			f.clock.Set(time.Date(2026, 3, 27, 10, 0, 0, 0, berlin))
			f.subscribe(chA, "eeg")
			sched, err := channel.ParseDigestSchedule("monday 09:00", "Europe/Berlin")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.st.SetChannelMode(context.Background(), channel.Channel{Ref: chA, Mode: channel.ModeDigest, DigestAt: sched.At, DigestTZ: sched.TZ}, f.clock.Now()); err != nil {
				t.Fatal(err)
			}
			f.newSender(func(o *delivery.Options) {
				o.Platforms = map[string]bot.Platform{"slack": up}
				o.Charts = &command.Commander{Store: f.st, Now: f.clock.Now}
			})
			f.deliver()
			f.ingest("arxiv",
				arxivPaper("2603.20001", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG one"),
				arxivPaper("2603.20002", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG two"))

			for _, day := range []int{28, 29} { // Saturday, Sunday
				f.clock.Set(time.Date(2026, 3, day, 9, 0, 30, 0, berlin))
				f.deliver()
			}
			f.clock.Set(time.Date(2026, 3, 30, 8, 59, 0, 0, berlin))
			f.deliver()
			if got := up.log(); got != "" {
				t.Fatalf("before Monday 09:00: %s", got)
			}
			f.clock.Set(time.Date(2026, 3, 30, 9, 0, 30, 0, berlin))
			f.deliver()
			if tt.failSend > 0 {
				f.clock.Set(time.Date(2026, 3, 30, 9, 30, 0, 0, berlin)) // past the channel's backoff
				f.deliver()
			}
			if got := up.log(); got != tt.want {
				t.Fatalf("Monday 09:00: %s, want %s", got, tt.want)
			}
			msgs := f.plat.messages()
			if last := msgs[len(msgs)-1]; !last.Digest || last.Title != "Weekly digest: 2 new matching papers" || len(last.Cards) != 2 {
				t.Errorf("digest %+v", last)
			}
			if tt.failUpload == nil {
				if len(up.uploads) != 1 || up.uploads[0].Name != "trends.png" || !strings.Contains(up.texts[0], "2 papers, 2 in the last week") {
					t.Fatalf("uploads %+v, texts %q", up.uploads, up.texts)
				}
				img, err := png.Decode(bytes.NewReader(up.uploads[0].Data))
				if err != nil || img.Bounds().Dx() != 1200 {
					t.Errorf("chart: %v", err)
				}
			}
			// Tuesday brings a paper; it waits for next Monday.
			before := up.log()
			f.ingest("arxiv", arxivPaper("2603.20003", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG three"))
			f.clock.Set(time.Date(2026, 3, 31, 9, 0, 30, 0, berlin))
			f.deliver()
			if got := up.log(); got != before {
				t.Errorf("Tuesday: %s, want nothing more than %s", got, before)
			}
			f.clock.Set(time.Date(2026, 4, 6, 9, 0, 30, 0, berlin))
			f.deliver()
			if got := up.log(); got != before+",upload,send" {
				t.Errorf("next Monday: %s, want %s,upload,send", got, before)
			}
		})
	}
}

func TestWeeklyDigest(t *testing.T) { onEachStore(t, testWeeklyDigest) }
