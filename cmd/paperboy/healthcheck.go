package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/app"
)

// healthcheckUsage is printed by paperboy healthcheck -h.
const healthcheckUsage = `usage: paperboy healthcheck [--url URL] [--config FILE] [--timeout DURATION]

GETs /healthz of a running paperboy and exits 0 when it answers 200, else 1 with the reason on one line: the
HEALTHCHECK of images that have no curl. The URL is --url, else http://<[http] listen>/healthz from the
configuration (a wildcard listen address such as ":9090" or "0.0.0.0:9090" is reached on loopback).
`

// defaultHealthTimeout bounds the whole check. /healthz answers from memory, so a bot that takes longer is not
// healthy, and the check must end well within the orchestrator's own timeout (Docker's default is 30 s).
const defaultHealthTimeout = 5 * time.Second

// healthcheckCmd runs "paperboy healthcheck". Every failure, flags included, exits 1: Docker reserves exit code 2
// of a HEALTHCHECK.
func healthcheckCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("paperboy healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), healthcheckUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	defConfig := os.Getenv("PAPERBOY_CONFIG")
	if defConfig == "" {
		defConfig = "paperboy.toml"
	}
	configPath := fs.String("config", defConfig, "configuration file whose [http] listen gives the URL (env PAPERBOY_CONFIG)")
	target := fs.String("url", "", "the /healthz URL to check, instead of the one [http] listen gives")
	timeout := fs.Duration("timeout", defaultHealthTimeout, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "paperboy healthcheck: unexpected argument %q\n", fs.Arg(0))
		return 1
	}
	u := *target
	if u == "" {
		var err error
		if u, err = healthURLFromConfig(*configPath); err != nil {
			fmt.Fprintf(stderr, "paperboy healthcheck: %v\n", err)
			return 1
		}
	}
	if err := checkHealth(ctx, u, *timeout); err != nil {
		fmt.Fprintf(stderr, "paperboy healthcheck: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", u)
	return 0
}

// healthURLFromConfig derives the /healthz URL from the [http] listen of the configuration at path.
func healthURLFromConfig(path string) (string, error) {
	cfg, err := app.LoadConfig(path)
	if err != nil {
		// One line: Docker shows the check's output, and a multi-line config report belongs to paperboy check.
		return "", fmt.Errorf("no --url, and the configuration does not load (see paperboy check --config %s): %s",
			path, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if cfg.HTTP.Listen == "" {
		return "", fmt.Errorf("no --url, and [http] listen is not set in %s, so nothing serves /healthz; set it (e.g. \"127.0.0.1:9090\")", path)
	}
	return healthURL(cfg.HTTP.Listen)
}

// healthURL turns a listen address into the URL a local check reaches it at: a wildcard host (":9090",
// "0.0.0.0:9090", "[::]:9090") listens on loopback too, and loopback is what a check beside the bot can reach.
func healthURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("[http] listen %q: %w", listen, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// maxReason caps the part of /healthz's answer a failure quotes, so the reason stays one readable line.
const maxReason = 300

// checkHealth GETs u and returns nil on 200, else what went wrong on one line.
func checkHealth(ctx context.Context, u string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("--url %q: %w", u, err)
	}
	// No proxy from the environment: the check is of this machine's bot, never of whatever a proxy answers.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: no answer within %s", u, timeout)
		}
		var ue *url.Error // "Get URL: ..." would name the URL twice
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4*maxReason)) // the status alone decides; the body only explains
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	reason := strings.Join(strings.Fields(strings.ReplaceAll(string(body), "\n", "; ")), " ")
	reason = strings.TrimSuffix(reason, ";")
	if len(reason) > maxReason {
		reason = reason[:maxReason] + "..."
	}
	if reason == "" {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return fmt.Errorf("%s: %s: %s", u, resp.Status, reason)
}
