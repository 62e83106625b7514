package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHelpExitsZero: -h (and help) answers every command and subcommand on stdout with exit 0, listing only that
// command's flags.
func TestHelpExitsZero(t *testing.T) {
	tests := []struct {
		args    []string
		want    string   // start of stdout
		without []string // flags of other commands
	}{
		{[]string{"help"}, "paperboy announces", nil},
		{[]string{"-h"}, "paperboy announces", nil},
		{[]string{"--help"}, "paperboy announces", nil},
		{[]string{"run", "-h"}, "usage: paperboy run [--config FILE]", []string{"-once", "-json", "-limit", "-channel", "-manager", "-user"}},
		{[]string{"run", "--help"}, "usage: paperboy run", []string{"-once"}},
		{[]string{"help", "run"}, "usage: paperboy run", []string{"-once"}},
		{[]string{"poll", "-h"}, "usage: paperboy poll [--once]", []string{"-json", "-channel"}},
		{[]string{"search", "-h"}, "usage: paperboy search", []string{"-once", "-channel"}},
		{[]string{"cmd", "-h"}, "usage: paperboy cmd --channel", []string{"-once", "-json", "-limit"}},
		{[]string{"check", "-h"}, "usage: paperboy check", []string{"-once", "-json", "-channel"}},
		{[]string{"version", "-h"}, "usage: paperboy version", []string{"-config"}},
		{[]string{"discord", "-h"}, "usage: paperboy discord invite", nil},
		{[]string{"discord", "help"}, "usage: paperboy discord invite", nil},
		{[]string{"discord", "invite", "-h"}, "usage: paperboy discord invite", []string{"-once"}},
		{[]string{"help", "discord"}, "usage: paperboy discord invite", nil},
		{[]string{"store", "-h"}, "usage: paperboy store copy", nil},
		{[]string{"store", "copy", "-h"}, "usage: paperboy store copy", []string{"-config"}},
		{[]string{"import", "-h"}, "usage:\n  paperboy import snapshot", nil},
		{[]string{"import", "help"}, "usage:\n  paperboy import snapshot", nil},
		{[]string{"import", "snapshot", "-h"}, "usage: paperboy import snapshot FILE", []string{"-from", "-until"}},
		{[]string{"import", "arxiv", "-h"}, "usage: paperboy import arxiv", []string{"-once"}},
		{[]string{"help", "import"}, "usage:\n  paperboy import snapshot", nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, context.Background(), tt.args...)
			if code != 0 || !strings.HasPrefix(out, tt.want) || errOut != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0 and stdout starting %q", code, out, errOut, tt.want)
			}
			for _, f := range tt.without {
				if strings.Contains(out, "  "+f+" ") || strings.Contains(out, "  "+f+"\n") {
					t.Errorf("lists %s, a flag of another command:\n%s", f, out)
				}
			}
		})
	}
}

// TestFlagsOfOtherCommandsRefused: a flag a command does not have is a usage error (exit 2) that says which, and
// so is an argument a command does not take.
func TestFlagsOfOtherCommandsRefused(t *testing.T) {
	cfg := writeConfig(t, "[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--once", "--config", cfg}, "flag provided but not defined: -once"},
		{[]string{"run", "--json", "--config", cfg}, "flag provided but not defined: -json"},
		{[]string{"check", "--limit", "3", "--config", cfg}, "flag provided but not defined: -limit"},
		{[]string{"poll", "--channel", "console:x", "--config", cfg}, "flag provided but not defined: -channel"},
		{[]string{"search", "--once", "--config", cfg, "eeg"}, "flag provided but not defined: -once"},
		{[]string{"cmd", "--json", "--config", cfg, "--channel", "console:x", "help"}, "flag provided but not defined: -json"},
		{[]string{"discord", "invite", "--from", "x", "--config", cfg}, "flag provided but not defined: -from"},
		{[]string{"store", "copy", "--config", cfg}, "flag provided but not defined: -config"},
		{[]string{"import", "arxiv", "--limit", "3", "--config", cfg}, "flag provided but not defined: -limit"},
		{[]string{"version", "--config", cfg}, "flag provided but not defined: -config"},
		{[]string{"check", "--config", cfg, "extra"}, `paperboy check: unexpected argument "extra"`},
		{[]string{"run", "--config", cfg, "now"}, `paperboy run: unexpected argument "now"`},
		{[]string{"store", "copy", "--from", "a.db", "--to", "b.db", "c.db"}, `paperboy store copy: unexpected argument "c.db"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, context.Background(), tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "usage: paperboy "+tt.args[0]) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q with the usage", code, out, errOut, tt.want)
			}
		})
	}
}

// TestNoConfigFile: without a file, paperboy says where it looked, why there, and how to start one.
func TestNoConfigFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("PAPERBOY_CONFIG", "")
	for _, cmd := range []string{"check", "run", "poll", "search x", "discord invite"} {
		t.Run(cmd, func(t *testing.T) {
			code, _, errOut := run(t, context.Background(), strings.Fields(cmd)...)
			want := fmt.Sprintf("paperboy: no configuration file found: looked for %s (the default; name another with --config FILE or PAPERBOY_CONFIG)\n"+
				"to start one, copy the example from paperboy's repository and edit it:\n  cp config.example.toml paperboy.toml\n",
				filepath.Join(dir, "paperboy.toml"))
			if code != 1 || !strings.HasPrefix(errOut, want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and:\n%s", code, errOut, want)
			}
		})
	}
	t.Setenv("PAPERBOY_CONFIG", "elsewhere.toml")
	if _, _, errOut := run(t, context.Background(), "check"); !strings.Contains(errOut, filepath.Join(dir, "elsewhere.toml")+" (from PAPERBOY_CONFIG)") {
		t.Errorf("with PAPERBOY_CONFIG: %s", errOut)
	}
}

// TestCheckWarnsAboutUnservedChannels: a channel on a platform without a token is a warning with its line, exit 0;
// check also says which platforms are on.
func TestCheckWarnsAboutUnservedChannels(t *testing.T) {
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("SLACK_BOT_TOKEN_FILE", "")
	t.Setenv("DISCORD_BOT_TOKEN", "not-checked-by-check")
	cfg := writeConfig(t, "[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n"+
		"[[channels]]\nplatform = \"slack\"\nid = \"C0123ABCD\"\n"+
		"[[channels]]\nplatform = \"discord\"\nid = \"111122223333444455\"\n")
	code, out, errOut := run(t, context.Background(), "check", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// writeConfig's header takes 6 lines; the slack channel's platform is on the body's 5th.
	wantErr := cfg + ":11: warning: channel slack:C0123ABCD cannot be served: slack is off (SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE) is not set)\n"
	if errOut != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, wantErr)
	}
	for _, want := range []string{"ok (1 sources, 2 channels)", "platform console: on, prints to standard output",
		"platform slack: off, SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE) is not set", "platform discord: on, gateway"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

// TestNoDoubledPrefixes runs real failing starts and checks that no error repeats its prefix ("slack: slack:",
// "open store X: open store X:").
func TestNoDoubledPrefixes(t *testing.T) {
	const hf = "[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n"
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte("not a database, not at all, not even close to one"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		toml string
		args []string
		want string
	}{
		{"slack user token", map[string]string{"SLACK_BOT_TOKEN": "xoxp-1"}, hf, []string{"run"},
			"paperboy: slack: SLACK_BOT_TOKEN must be a bot token starting with xoxb-"},
		{"slack socket mode without app token", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": ""}, hf, []string{"run"},
			"paperboy: slack: socket mode needs SLACK_APP_TOKEN"},
		{"discord bad public key", map[string]string{"DISCORD_BOT_TOKEN": "x"},
			"[discord]\nmode = \"http\"\nlisten = \"127.0.0.1:0\"\npublic_key = \"zz\"\napplication_id = \"123456789012345678\"\n" + hf, []string{"run"},
			"paperboy: discord: public_key must be"},
		{"store directory missing", nil, "[store]\npath = " + fmt.Sprintf("%q", filepath.Join(dir, "nodir", "x.db")) + "\n" + hf, []string{"run"},
			"paperboy: lock the store: open " + filepath.Join(dir, "nodir", "x.db.lock")},
		{"store not a database", nil, "[store]\npath = " + fmt.Sprintf("%q", garbage) + "\n" + hf, []string{"search", "x"},
			"paperboy: open store " + garbage + ": file is not a database"},
		{"console output directory missing", nil, "[console]\noutput = " + fmt.Sprintf("%q", filepath.Join(dir, "nodir", "out.txt")) + "\n" + hf, []string{"run"},
			"paperboy: console output: open " + filepath.Join(dir, "nodir", "out.txt")},
		{"postgres unreachable", map[string]string{"PAPERBOY_DATABASE_URL": "postgres://pb@127.0.0.1:1/pb?sslmode=disable&connect_timeout=2"}, hf, []string{"search", "x"},
			"paperboy: open store postgres://pb@127.0.0.1:1/pb?sslmode=disable&connect_timeout=2: cannot reach PostgreSQL"},
		{"store copy from garbage", nil, "", []string{"store", "copy", "--from", garbage, "--to", filepath.Join(dir, "copy.db")},
			"paperboy store copy: open store " + garbage + ": file is not a database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_BOT_TOKEN", "PAPERBOY_DATABASE_URL"} {
				t.Setenv(k, tt.env[k])
			}
			args := tt.args
			if tt.toml != "" {
				tmp := t.TempDir()
				body := tt.toml
				if !strings.Contains(body, "[store]") {
					// Not the default paperboy.db, which would be in the package's directory.
					body = fmt.Sprintf("[store]\npath = %q\n%s", filepath.Join(tmp, "paperboy.db"), body)
				}
				cfg := filepath.Join(tmp, "paperboy.toml")
				if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append([]string{args[0], "--config", cfg}, args[1:]...)
			}
			code, _, errOut := run(t, context.Background(), args...)
			if code != 1 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit 1 and %q", code, errOut, tt.want)
			}
			for line := range strings.SplitSeq(errOut, "\n") {
				if p := repeatedPrefix(line); p != "" {
					t.Errorf("%q repeats %q", line, p)
				}
			}
		})
	}
}

// repeatedPrefix returns the prefix an error message repeats: two neighbouring ": "-separated parts that start
// with the same two words, or are the same single word ("slack: slack: ...", "open store x: open store x: ...").
func repeatedPrefix(msg string) string {
	parts := strings.Split(msg, ": ")
	head := func(s string) string {
		w := strings.Fields(s)
		return strings.Join(w[:min(2, len(w))], " ")
	}
	for i := 0; i+1 < len(parts); i++ {
		if h := head(parts[i]); h != "" && h == head(parts[i+1]) {
			return h
		}
	}
	return ""
}

func TestRepeatedPrefix(t *testing.T) {
	for msg, want := range map[string]string{
		"paperboy: slack: slack: SLACK_BOT_TOKEN must be":          "slack",
		"open store a.db: open store a.db: file is not a database": "open store",
		"paperboy: open store a.db: file is not a database":        "",
		"dial error: dial tcp 127.0.0.1:1: connect: refused":       "",
	} {
		if got := repeatedPrefix(msg); got != want {
			t.Errorf("repeatedPrefix(%q) = %q, want %q", msg, got, want)
		}
	}
}

// TestRunSaysWhichPlatformsAreOn: run logs at start which platforms are on (and how) and which configured channels
// cannot be served, in JSON logs too.
func TestRunSaysWhichPlatformsAreOn(t *testing.T) {
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("SLACK_BOT_TOKEN_FILE", "")
	t.Setenv("DISCORD_BOT_TOKEN", "")
	t.Setenv("DISCORD_BOT_TOKEN_FILE", "")
	srv, _ := feedServer(t)
	cfg := writeConfig(t, fmt.Sprintf("[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\nurl = %q\n", srv.URL+"/api/daily_papers")+
		"[[channels]]\nplatform = \"console\"\nid = \"lab\"\n"+
		"[[channels]]\nplatform = \"discord\"\nid = \"111122223333444455\"\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int)
	go func() { done <- realMain(ctx, []string{"run", "--config", cfg}, &out, &errOut) }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(errOut.String(), "channel cannot be served") {
		select {
		case code := <-done:
			t.Fatalf("run exited (%d):\n%s", code, errOut.String())
		case <-deadline:
			t.Fatalf("no warning within the deadline:\n%s", errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	log := errOut.String()
	for _, want := range []string{
		`msg="platform on" platform=console mode="prints to standard output"`,
		`msg="platform off" platform=slack reason="SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE) is not set"`,
		`msg="platform off" platform=discord reason="DISCORD_BOT_TOKEN (or DISCORD_BOT_TOKEN_FILE) is not set"`,
		`msg="channel cannot be served" problem="` + cfg + `:15: warning: channel discord:111122223333444455 cannot be served: discord is off (DISCORD_BOT_TOKEN (or DISCORD_BOT_TOKEN_FILE) is not set)"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "console:lab") {
		t.Errorf("warns about the console channel, which is always served:\n%s", log)
	}
}
