package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
)

// fakeFiles is Slack's files.uploadV2 flow as the Web API speaks it: files.getUploadURLExternal (form: filename,
// length, alt_txt; answers upload_url and file_id), a multipart POST of the bytes to upload_url (field "file";
// answers "OK - <length>" as text), files.completeUploadExternal (form: files as JSON [{id, title}], channel_id,
// initial_comment; answers the files).
type fakeFiles struct {
	mu       sync.Mutex
	pending  map[string]pendingFile // file id -> what getUploadURLExternal was told and what was uploaded
	shared   []sharedFile
	errCode  string // answer files.getUploadURLExternal with this error
	complete string // answer files.completeUploadExternal with this error
}

type pendingFile struct {
	Name, AltText string
	Length        int
	Data          []byte
}

type sharedFile struct {
	pendingFile
	ID, Title, Channel, Comment string
}

// addFiles adds the upload endpoints to the fake Slack's server mux.
func addFiles(mux *http.ServeMux, srv func() *httptest.Server) *fakeFiles {
	ff := &fakeFiles{pending: map[string]pendingFile{}}
	mux.HandleFunc("POST /api/files.getUploadURLExternal", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ff.mu.Lock()
		defer ff.mu.Unlock()
		if r.PostForm.Get("token") != testBotToken {
			slackJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		if ff.errCode != "" {
			slackJSON(w, map[string]any{"ok": false, "error": ff.errCode})
			return
		}
		var n int
		if _, err := fmt.Sscan(r.PostForm.Get("length"), &n); err != nil || n <= 0 || r.PostForm.Get("filename") == "" {
			slackJSON(w, map[string]any{"ok": false, "error": "invalid_arguments"})
			return
		}
		id := fmt.Sprintf("F%07d", len(ff.pending)+1)
		ff.pending[id] = pendingFile{Name: r.PostForm.Get("filename"), AltText: r.PostForm.Get("alt_txt"), Length: n}
		slackJSON(w, map[string]any{"ok": true, "upload_url": srv().URL + "/upload/v1/" + id, "file_id": id})
	})
	mux.HandleFunc("POST /upload/v1/{id}", func(w http.ResponseWriter, r *http.Request) {
		f, hdr, err := r.FormFile("file")
		if err != nil {
			http.Error(w, "no file", http.StatusBadRequest)
			return
		}
		data, _ := io.ReadAll(f)
		ff.mu.Lock()
		defer ff.mu.Unlock()
		p, ok := ff.pending[r.PathValue("id")]
		if !ok || hdr.Filename != p.Name {
			http.Error(w, "unknown upload", http.StatusNotFound)
			return
		}
		p.Data = data
		ff.pending[r.PathValue("id")] = p
		_, _ = fmt.Fprintf(w, "OK - %d", len(data))
	})
	mux.HandleFunc("POST /api/files.completeUploadExternal", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ff.mu.Lock()
		defer ff.mu.Unlock()
		if ff.complete != "" {
			slackJSON(w, map[string]any{"ok": false, "error": ff.complete})
			return
		}
		var files []struct{ ID, Title string }
		if err := json.Unmarshal([]byte(r.PostForm.Get("files")), &files); err != nil || len(files) == 0 {
			slackJSON(w, map[string]any{"ok": false, "error": "invalid_arguments"})
			return
		}
		var out []map[string]any
		for _, f := range files {
			p, ok := ff.pending[f.ID]
			if !ok || len(p.Data) != p.Length {
				// Slack's answer for a file whose bytes did not all arrive.
				slackJSON(w, map[string]any{"ok": false, "error": "file_upload_size_mismatch"})
				return
			}
			ff.shared = append(ff.shared, sharedFile{pendingFile: p, ID: f.ID, Title: f.Title,
				Channel: r.PostForm.Get("channel_id"), Comment: r.PostForm.Get("initial_comment")})
			out = append(out, map[string]any{"id": f.ID, "title": f.Title})
		}
		slackJSON(w, map[string]any{"ok": true, "files": out})
	})
	return ff
}

func (ff *fakeFiles) sharedFiles() []sharedFile {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	return append([]sharedFile(nil), ff.shared...)
}

var chartPNG = []byte("\x89PNG\r\n\x1a\n pretend chart bytes <&>")

func chartReply() bot.Reply {
	return bot.Reply{
		Text:  []string{"Papers per week matching this channel's 2 subscriptions: 12 papers, 3 in the last week.", "Rising in the last week: mamba <b>."},
		Files: []bot.File{{Name: "trends.png", Data: chartPNG, Title: "Papers per week, last 8 weeks", AltText: "Line chart of papers per week"}},
	}
}

func TestUpload(t *testing.T) {
	f := newFakeSlack(t)
	ff := f.files
	s := newTestSlack(t, f, ModeHTTP, nil)
	id, err := s.Upload(t.Context(), channel.Ref{Platform: "slack", ID: "C1"}, "the chart <of> the week", chartReply().Files)
	if err != nil {
		t.Fatal(err)
	}
	got := ff.sharedFiles()
	if len(got) != 1 || got[0].ID != id {
		t.Fatalf("shared %+v, want one file with id %s", got, id)
	}
	g := got[0]
	if !bytes.Equal(g.Data, chartPNG) || g.Name != "trends.png" || g.Title != "Papers per week, last 8 weeks" ||
		g.AltText != "Line chart of papers per week" || g.Channel != "C1" || g.Comment != "the chart &lt;of&gt; the week" {
		t.Errorf("shared %+v", g)
	}

	t.Run("missing scope is an auth error", func(t *testing.T) {
		ff.mu.Lock()
		ff.errCode = "missing_scope"
		ff.mu.Unlock()
		defer func() { ff.mu.Lock(); ff.errCode = ""; ff.mu.Unlock() }()
		_, err := s.Upload(t.Context(), channel.Ref{Platform: "slack", ID: "C1"}, "x", chartReply().Files)
		if !errors.Is(err, bot.ErrAuth) {
			t.Errorf("err = %v, want ErrAuth", err)
		}
	})
	t.Run("not in channel is permanent", func(t *testing.T) {
		ff.mu.Lock()
		ff.complete = "not_in_channel"
		ff.mu.Unlock()
		defer func() { ff.mu.Lock(); ff.complete = ""; ff.mu.Unlock() }()
		_, err := s.Upload(t.Context(), channel.Ref{Platform: "slack", ID: "C1"}, "x", chartReply().Files)
		var perm *bot.PermanentError
		if !errors.As(err, &perm) || perm.Reason != "not_in_channel" {
			t.Errorf("err = %v, want a permanent not_in_channel", err)
		}
	})
}

// TestSlashCommandWithChart runs /papers trends over HTTP: acknowledged at once, then the chart is uploaded in
// the channel with the reply as its message, and nothing more goes to response_url; when the upload fails, the
// caller alone gets the text and why.
func TestSlashCommandWithChart(t *testing.T) {
	tests := []struct {
		name     string
		errCode  string
		wantFile bool
		want     string
	}{
		{"uploaded", "", true, ""},
		{"no files:write", "missing_scope", false, "files:write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			f.files.errCode = tt.errCode
			s := newTestSlack(t, f, ModeHTTP, &recorder{reply: chartReply()})
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			answer := postCommand(t, srv, commandBody("C1", "U1", "trends", f.responseURL("1")))
			if answer["response_type"] != "ephemeral" || !strings.Contains(answer["text"].(string), "Working on it") {
				t.Errorf("acknowledgement %v", answer)
			}
			s.runner.Drain()
			shared := f.files.sharedFiles()
			if tt.wantFile {
				if len(shared) != 1 || !bytes.Equal(shared[0].Data, chartPNG) || shared[0].Channel != "C1" ||
					!strings.Contains(shared[0].Comment, "Rising in the last week: mamba &lt;b&gt;.") {
					t.Fatalf("shared %+v", shared)
				}
				select {
				case m := <-f.responses:
					t.Errorf("response_url got %v after the upload", m)
				default:
				}
				return
			}
			if len(shared) != 0 {
				t.Errorf("shared %+v", shared)
			}
			m := f.waitResponse(t)
			text := allText(blocksOf(t, m))
			if m["response_type"] != "ephemeral" || !strings.Contains(text, tt.want) || !strings.Contains(text, "12 papers") {
				t.Errorf("response %v", m)
			}
		})
	}
}
