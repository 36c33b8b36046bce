package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/core/safety"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0"

// versionText is what --version prints: the version, and which registry
// hive engine this build and environment use (libhivex or pure Go).
func versionText() string {
	return fmt.Sprintf("pvinject %s\nhive engine: %s\n", Version, hive.EngineDescription())
}

// Exit statuses, the contract every subcommand follows.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitRefused = 3 // unsafe or unsupported guest; nothing was written
)

// usageError marks bad invocations (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// command is one subcommand: its flags, help text with examples, and body.
type command struct {
	name    string
	summary string
	usage   string // after "pvinject NAME "
	help    string // longer text with examples
	run     func(ctx context.Context, env *cliEnv, args []string) error
	flags   func(fs *flag.FlagSet) any
}

type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
}

func commands() []*command {
	return []*command{inspectCmd(), injectCmd(), rollbackCmd(), acceptCmd(), verifyCmd(), batchCmd()}
}

const topUsage = `pvinject: inject paravirtual drivers into a Windows disk image, offline.

Usage:
  pvinject                      open the wizard
  pvinject --demo               open the wizard on the bundled demo image
  pvinject IMAGE                open the wizard on IMAGE
  pvinject COMMAND [flags] ARGS run headless

Commands:
%s
Exit status: 0 success, 1 error, 2 usage, 3 refused (unsafe or unsupported
guest; nothing was written).

Run "pvinject COMMAND --help" for a command's flags and examples.
Set PVINJECT_DEBUG_LOG=FILE to write a debug log.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr, log: newLogger()}
	// Libraries log through slog's default logger; the user-facing output is
	// stdout/stderr, so those records go to the debug log with everything else.
	slog.SetDefault(env.log)
	// "pvinject -- IMAGE" is how a shell user opens an image whose name
	// starts with a dash, or any image by habit: everything after "--" is
	// a file, never a command or a flag.
	if len(args) == 2 && args[0] == "--" {
		return exitCode(env, "pvinject", runGUI(ctx, env, args))
	}
	if len(args) == 0 || args[0] == "--demo" || args[0] == "-demo" || (len(args) == 1 && isFile(args[0])) {
		return exitCode(env, "pvinject", runGUI(ctx, env, args))
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				printHelp(stdout, c)
				return exitOK
			}
		}
		printTop(stdout)
		return exitOK
	case "--version", "-version", "version":
		fmt.Fprint(stdout, versionText())
		return exitOK
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "pvinject: %q is neither a command nor an existing image file (run pvinject --help)\n", args[0])
		return exitUsage
	}
	return exitCode(env, "pvinject "+c.name, c.run(ctx, env, args[1:]))
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

func lookup(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printTop(w io.Writer) {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, topUsage, b.String())
}

func printHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: pvinject %s %s\n\n%s\n", c.name, c.usage, strings.TrimSpace(c.help))
	if c.flags != nil {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// parse parses a subcommand's flags; --help prints help and returns errHelp.
func parse(env *cliEnv, c *command, args []string) (any, []string, error) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var opts any
	if c.flags != nil {
		opts = c.flags(fs)
	}
	if err := fs.Parse(interleave(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(env.stdout, c)
			return nil, nil, errHelp
		}
		return nil, nil, usagef("%v", err)
	}
	return opts, fs.Args(), nil
}

var errHelp = errors.New("help shown")

// interleave moves flags after positional arguments to the front, so
// "pvinject inspect disk.img --json" works as admins type it.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(flags, pos...)
}

// exitCode prints err as one line naming what failed and maps it to a status.
func exitCode(env *cliEnv, prefix string, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	var ue *usageError
	var refusal *safety.Refusal
	var changed *inject.ChangedError
	var damaged *journal.DamagedError
	where, full := inject.FullDiskWhere(err)
	switch {
	case errors.As(err, &changed):
		// A refused rollback: its list of changes reads best one per line.
		fmt.Fprintf(env.stderr, "%s: %s\n", prefix, strings.TrimRight(changed.Error(), "\n"))
		fmt.Fprintf(env.stderr, "To keep the guest as it is: pvinject accept %s\nTo restore anyway (the changed files will be damaged): pvinject rollback --force %s\n", inject.ShellQuote(changed.Image), inject.ShellQuote(changed.Image))
		return exitRefused
	case errors.As(err, &damaged):
		// Its own words name the journal, and so the image; the layers
		// above it add only package prefixes ("inject: rollback …").
		fmt.Fprintf(env.stderr, "%s: %s (pvinject accept %s)\n", prefix, damaged.Error(), inject.ShellQuote(damaged.Image))
		return exitRefused
	case errors.As(err, &ue):
		fmt.Fprintf(env.stderr, "%s: %s (run %s --help)\n", prefix, msg, prefix)
		return exitUsage
	case errors.As(err, &refusal):
		fmt.Fprintf(env.stderr, "%s: %s\n", prefix, msg)
		return exitRefused
	case full:
		fmt.Fprintf(env.stderr, "%s: %s\n", prefix, fullDiskMessage(where, err, msg))
		return exitError
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(env.stderr, "%s: %s\n", prefix, stoppedMessage(err, msg))
		return exitError
	default:
		fmt.Fprintf(env.stderr, "%s: %s\n", prefix, msg)
		return exitError
	}
}

// newLogger logs to PVINJECT_DEBUG_LOG when set and discards otherwise:
// the CLI's user-facing output is its stdout/stderr, never the log.
func newLogger() *slog.Logger {
	path := os.Getenv("PVINJECT_DEBUG_LOG")
	if path == "" {
		return slog.New(slog.DiscardHandler)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// stoppedMessage says what a run stopped by Ctrl+C or SIGTERM left behind;
// an undo that failed says so in full, with its rollback command.
func stoppedMessage(err error, msg string) string {
	const head = "stopped (interrupted by Ctrl+C or a termination signal)"
	var oe *inject.OutcomeError
	switch {
	case !errors.As(err, &oe):
		return head
	case oe.Changed:
		return head + ": " + strings.ReplaceAll(msg, "context canceled", "interrupted")
	}
	return head + ": " + oe.Outcome
}

// fullDiskMessage says a disk filled up, which one, and what became of the
// image, instead of the chain of layers the write went through; an undo
// that failed is said in full, with its rollback command.
func fullDiskMessage(where string, err error, msg string) string {
	head := where + " is full (no space left on device)"
	var oe *inject.OutcomeError
	switch {
	case !errors.As(err, &oe):
	case oe.Changed:
		return head + ": " + msg
	default:
		head += ": " + oe.Outcome
	}
	return head + ". Free some space there and run the command again."
}
