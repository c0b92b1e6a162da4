// Command detour serves HTTP redirects from declarative rules and checks
// rule files. Run "detour" with no arguments for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	hangup := make(chan os.Signal, 1)
	signal.Notify(hangup, syscall.SIGHUP)
	m := &Main{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		Hangup: hangup,
	}
	code := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Exit codes, for every command (SPEC §8).
const (
	exitOK      = 0 // success
	exitFailed  = 1 // what was checked is wrong
	exitCantRun = 2 // usage errors, unreadable input
)

// Main is the detour program, built by main and by tests that run it
// in-process. The zero value writes nowhere and reads no environment.
type Main struct {
	// Stdin is read by "trace -d @-"; nil reads nothing.
	Stdin io.Reader
	// Stdout and Stderr receive output and logs; nil discards.
	Stdout, Stderr io.Writer
	// Getenv reads the environment; nil reads none.
	Getenv func(string) string
	// Hangup delivers reload requests (SIGHUP) to serve; nil: none.
	Hangup <-chan os.Signal
	// Listening, when set, is called once serve's listeners are bound,
	// with their addresses (useful with ":0").
	Listening func(Addrs)
}

// Addrs are the addresses serve listens on.
type Addrs struct {
	HTTP  net.Addr
	Admin net.Addr
}

const usage = `usage: detour <command> [arguments]

commands:
  serve    serve redirects:  detour serve [--rules PATH] [--listen ADDR] [--admin ADDR]
                             [--tls-cert FILE --tls-key FILE] [--trusted-proxy CIDR]...
                             [--log-format json|text]
  lint     check rules:      detour lint [--strict] [--json] PATH
  trace    follow a URL:     detour trace URL [-X METHOD] [-d DATA|@FILE|@-] [-H 'Name: value']... [--json]
                             (detour trace -h for every option)
  check    verify a server:  detour check FILE --base URL | --rules PATH --base URL [--json] [--junit FILE]
                             (detour check -h for every option)
  import   convert config:   detour import --from nginx|apache|netlify|csv [--partial] [--out DIR] FILE
  export   write config:     detour export --to nginx|apache|caddy [--partial] PATH
  rules    runtime rules:    detour rules list|get|add|rm|enable|disable … [--server URL] [--json]
                             (detour rules -h for every option)
  version  print the version
`

// Run runs the command in args (without the program name) until it
// finishes or ctx is done, and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	if m.Stderr == nil {
		m.Stderr = io.Discard
	}
	if m.Getenv == nil {
		m.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return exitCantRun
	}
	switch args[0] {
	case "serve":
		return m.serve(ctx, args[1:])
	case "lint":
		return m.lint(args[1:])
	case "trace":
		return m.trace(ctx, args[1:])
	case "check":
		return m.check(ctx, args[1:])
	case "import":
		return m.importRules(args[1:])
	case "export":
		return m.exportRules(args[1:])
	case "rules":
		return m.rules(ctx, args[1:])
	case "version":
		return m.version(args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage)
		return exitOK
	}
	fmt.Fprintf(m.Stderr, "detour: unknown command %q\n%s", args[0], usage)
	return exitCantRun
}

// newFlagSet returns an empty flag set for a subcommand.
func newFlagSet(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) }

// parseFlags parses args with fs, allowing flags after positional
// arguments ("lint PATH --strict"); "--" ends the flags. It returns the
// positional arguments, or false when the command must stop, with the exit
// code: exitOK after printing help for -h, exitCantRun after printing the
// error and the usage line for a usage error.
func (m *Main) parseFlags(fs *flag.FlagSet, args []string, usageLine string) ([]string, int, bool) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			fmt.Fprintf(m.Stdout, "usage: %s\n", usageLine)
			fs.SetOutput(m.Stdout)
			fs.PrintDefaults()
			return nil, exitOK, false
		case err != nil:
			fmt.Fprintf(m.Stderr, "detour: %v\nusage: %s\n", err, usageLine)
			return nil, exitCantRun, false
		}
		rest := fs.Args()
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(pos, rest...), exitOK, true
		}
		if len(rest) == 0 {
			return pos, exitOK, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError prints msg and the usage line, and returns exitCantRun.
func (m *Main) usageError(usageLine, format string, args ...any) int {
	fmt.Fprintf(m.Stderr, "detour: %s\nusage: %s\n", fmt.Sprintf(format, args...), usageLine)
	return exitCantRun
}
