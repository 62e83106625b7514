package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/paperboy-bot/paperboy/bot/app"
)

// flags is one subcommand's own flag set: `paperboy run -h` lists run's flags only, and a flag of another
// subcommand is refused.
type flags struct {
	*flag.FlagSet
	synopsis, about string
	stdout, stderr  io.Writer
}

// newFlags starts the flag set of "paperboy NAME"; synopsis is its usage line without "paperboy ", about what it
// does.
func newFlags(name, synopsis, about string, stdout, stderr io.Writer) *flags {
	f := &flags{FlagSet: flag.NewFlagSet("paperboy "+name, flag.ContinueOnError), synopsis: synopsis, about: about,
		stdout: stdout, stderr: stderr}
	f.SetOutput(stderr)
	// The flag package prints the error itself; parse adds the usage. -h is answered on stdout, exit 0.
	f.Usage = func() {}
	return f
}

// configFlag adds --config to f.
func (f *flags) configFlag() *string {
	return f.String("config", defaultConfig(), "configuration file (env PAPERBOY_CONFIG)")
}

// usage writes "usage: paperboy SYNOPSIS", what the command does, and its flags.
func (f *flags) usage(w io.Writer) {
	_, _ = fmt.Fprintf(w, "usage: paperboy %s\n\n%s\n", f.synopsis, f.about)
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	_, _ = fmt.Fprintln(w, "\nflags:")
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(f.stderr)
}

// parse parses args; with positional true, arguments may follow the flags (and flags the arguments when
// interspersed). It returns the positional arguments and, when the command must stop, its exit code: 0 after -h,
// 2 for a flag it does not know or arguments it does not take.
func (f *flags) parse(args []string, positional, interspersed bool) (pos []string, code int, stop bool) {
	var err error
	if interspersed {
		pos, err = parseInterspersed(f.FlagSet, args)
	} else {
		err = f.Parse(args)
		pos = f.Args()
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.usage(f.stdout)
		return nil, 0, true
	case err != nil:
		_, _ = fmt.Fprintln(f.stderr)
		f.usage(f.stderr)
		return nil, 2, true
	case !positional && len(pos) > 0:
		_, _ = fmt.Fprintf(f.stderr, "paperboy %s: unexpected argument %q\n\n", f.Name()[len("paperboy "):], pos[0])
		f.usage(f.stderr)
		return nil, 2, true
	}
	return pos, 0, false
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// defaultConfig is the --config default: $PAPERBOY_CONFIG, else paperboy.toml.
func defaultConfig() string {
	if c := os.Getenv("PAPERBOY_CONFIG"); c != "" {
		return c
	}
	return "paperboy.toml"
}

// loadConfig loads the configuration file at path and prints what is wrong with it; ok is false when the command
// must stop (exit 1). A missing file is explained: where paperboy looked, why there, and how to start one.
func loadConfig(fs *flags, path string) (cfg *app.Config, ok bool) {
	cfg, err := app.LoadConfig(path)
	var nf *app.ConfigNotFoundError
	switch {
	case errors.As(err, &nf):
		why := "the default; name another with --config FILE or PAPERBOY_CONFIG"
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "config" })
		switch {
		case set:
			why = "from --config"
		case os.Getenv("PAPERBOY_CONFIG") != "":
			why = "from PAPERBOY_CONFIG"
		}
		_, _ = fmt.Fprintf(fs.stderr, "paperboy: no configuration file found: looked for %s (%s)\n", nf.Path, why)
		_, _ = fmt.Fprintln(fs.stderr, "to start one, copy the example from paperboy's repository and edit it:\n"+
			"  cp config.example.toml paperboy.toml\nthen check it with: paperboy check")
		return nil, false
	case err != nil:
		_, _ = fmt.Fprintf(fs.stderr, "paperboy: invalid configuration:\n%v\n", err)
		return nil, false
	}
	return cfg, true
}
