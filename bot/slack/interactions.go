package slack

import (
	"net/http"

	"github.com/paperboy-bot/paperboy/bot/command"
)

// InteractionsPath is where Slack posts interactions in http mode: the clicks on the cards' link buttons. Set it as
// the app's Interactivity Request URL; without one Slack shows a warning next to every clicked button.
const InteractionsPath = "/slack/interactions"

// serveInteraction acknowledges a verified interaction with an empty 200, which is all a link button needs: Slack
// has opened the link already, and an answer within 3 s keeps it from marking the click as failed. Socket Mode
// acknowledges the same payloads in socket.go.
func (s *Slack) serveInteraction(w http.ResponseWriter, r *http.Request) {
	body, ok := command.ReadCappedBody(w, r, maxBodyBytes)
	if !ok {
		return
	}
	if err := s.verify(r.Header, body); err != nil {
		s.log.WarnContext(r.Context(), "rejected unverified interaction request", "err", err, "remote", r.RemoteAddr)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}
