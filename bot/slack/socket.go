package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/httpserve"
)

// socketClient is the part of slack-go's Socket Mode client the adapter uses, so that tests can replace it.
type socketClient interface {
	// RunContext holds the WebSocket connection, reconnecting by itself, until ctx ends or the app token is
	// refused.
	RunContext(ctx context.Context) error
	// Events delivers what arrives, including the client's own connecting/connected events.
	Events() <-chan socketmode.Event
	// AckCtx acknowledges one envelope.
	AckCtx(ctx context.Context, envelopeID string, payload any) error
}

// smClient adapts *socketmode.Client, whose events are a field, to socketClient.
type smClient struct{ *socketmode.Client }

func (c smClient) Events() <-chan socketmode.Event { return c.Client.Events }

var _ socketClient = smClient{}

func (s *Slack) defaultSocket() socketClient {
	return smClient{socketmode.New(s.client)}
}

// Run serves the slash command until ctx ends: over Socket Mode, or on the HTTP endpoint at Options.Listen. It
// returns nil when ctx ends, after the answers still running are done (or command.DrainTimeout passed), and an
// error when the HTTP endpoint cannot listen. A Socket Mode connection that fails, even on a refused app token,
// is retried (a refused token slowly, logged at ERROR) with the platform reported not ready meanwhile: Slack
// being unreachable must not stop the other platforms.
func (s *Slack) Run(ctx context.Context) error {
	var err error
	if s.mode == ModeHTTP {
		err = s.runHTTP(ctx)
	} else {
		s.runSocket(ctx)
	}
	s.runner.Drain()
	return err
}

func (s *Slack) runHTTP(ctx context.Context) error {
	if s.listen == "" {
		return errors.New("slack: http mode needs [slack] listen")
	}
	srv, err := httpserve.Listen(ctx, httpserve.Config{Addr: s.listen, Handler: s.Handler(), BaseContext: ctx})
	if err != nil {
		s.ready.Fail(condConnection, "slash command endpoint cannot listen")
		return fmt.Errorf("slack: %w", err)
	}
	s.log.InfoContext(ctx, "slack slash commands listening", "addr", srv.Addr().String(), "path", CommandsPath)
	s.ready.OK(condConnection)
	if err := srv.Run(ctx, 5*time.Second); err != nil {
		s.ready.Fail(condConnection, "slash command endpoint stopped")
		return fmt.Errorf("slack: serve %s: %w", s.listen, err)
	}
	return nil
}

// runSocket holds a Socket Mode connection until ctx ends. slack-go reconnects by itself and gives up only when
// the app token is refused (or Slack answers 404); then a new client is started after a wait.
func (s *Slack) runSocket(ctx context.Context) {
	wait := s.retryBase
	for {
		err := s.socketSession(ctx)
		if ctx.Err() != nil {
			return
		}
		next := wait
		code := slackErrorCode(err)
		var sc slack.StatusCodeError
		if tokenErrors[code] || (errors.As(err, &sc) && sc.Code == http.StatusNotFound) {
			next = s.authRetry
			s.ready.Fail(condConnection, "slack refused the app token; fix SLACK_APP_TOKEN")
			s.log.ErrorContext(ctx, "slack refused the app token; fix SLACK_APP_TOKEN", "variable", "SLACK_APP_TOKEN",
				"err", err, "retry_in", next)
		} else {
			s.ready.Fail(condConnection, fmt.Sprintf("socket mode: %v", err))
			s.log.WarnContext(ctx, "slack socket mode stopped; starting it again", "err", err, "retry_in", next)
			wait = min(wait*2, s.retryMax)
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// socketSession runs one Socket Mode client until ctx ends (nil) or the client gives up (its error).
func (s *Slack) socketSession(ctx context.Context) error {
	sc := s.newSocket()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- sc.RunContext(runCtx) }()
	events := sc.Events()
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-errc
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				err = errors.New("socket mode client stopped")
			}
			return fmt.Errorf("slack: socket mode: %w", err)
		case evt := <-events:
			s.handleEvent(ctx, sc, evt)
		}
	}
}

// handleEvent acknowledges every envelope at once (Slack redelivers unacknowledged ones) and answers slash
// commands in the background, through response_url.
func (s *Slack) handleEvent(ctx context.Context, sc socketClient, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		s.log.DebugContext(ctx, "connecting to slack socket mode")
	case socketmode.EventTypeConnected:
		s.ready.OK(condConnection)
		if c, ok := evt.Data.(*socketmode.ConnectedEvent); ok && c.ConnectionCount > 0 {
			s.log.InfoContext(ctx, "reconnected to slack socket mode", "connections", c.ConnectionCount+1)
		} else {
			s.log.InfoContext(ctx, "connected to slack socket mode")
		}
	case socketmode.EventTypeConnectionError:
		var err error
		if c, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			err = c.ErrorObj
		}
		s.ready.Fail(condConnection, fmt.Sprintf("socket mode connection failed: %v", err))
		s.log.WarnContext(ctx, "slack socket mode connection failed; retrying", "err", err)
	case socketmode.EventTypeInvalidAuth:
		s.log.ErrorContext(ctx, "slack refused the app token (SLACK_APP_TOKEN)")
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		if cmd.ChannelID == "" || cmd.UserID == "" {
			s.ack(ctx, sc, evt)
			return
		}
		// Every command is acknowledged at once, so that the event loop never waits for an answer and the
		// envelopes behind this one are acknowledged in time; the answer follows through response_url. When
		// overloaded, the acknowledgement itself carries the "busy" reply.
		req := s.request(cmd)
		s.runner.Do(ctx, command.Job{
			Slow: true,
			Run:  func(ctx context.Context) bot.Reply { return s.answer(ctx, req) },
			Answer: func(ctx context.Context, reply bot.Reply) {
				if hasFiles(reply) {
					// An acknowledgement cannot carry a file: acknowledge, then upload.
					s.ack(ctx, sc, evt)
					s.followUp(ctx, cmd, reply)
					return
				}
				if err := sc.AckCtx(ctx, evt.Request.EnvelopeID, toResponse(reply)); err != nil {
					s.log.WarnContext(ctx, "acknowledge slack socket mode envelope", "type", string(evt.Type), "err", err)
				}
			},
			Defer:    func(ctx context.Context) { s.ack(ctx, sc, evt) },
			FollowUp: func(ctx context.Context, reply bot.Reply) { s.followUp(ctx, cmd, reply) },
		})
	case socketmode.EventTypeInteractive:
		s.socketClick(ctx, sc, evt)
	default:
		// Events: nothing to do, but acknowledged so that Slack does not retry.
		if evt.Request != nil && evt.Request.EnvelopeID != "" {
			s.ack(ctx, sc, evt)
		}
	}
}

func (s *Slack) ack(ctx context.Context, sc socketClient, evt socketmode.Event) {
	if err := sc.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
		s.log.WarnContext(ctx, "acknowledge slack socket mode envelope", "type", string(evt.Type), "err", err)
	}
}
