package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"keydesk/store"
)

// newFlags is the flag set of one command, the same for every command: it
// reports mistakes on stderr with the command's own line of the usage.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage:", usageOf(name))
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses a command's arguments. An unknown flag, a bad value or
// a stray argument is a usage mistake (exit 2) shown with the command's
// usage: `user add … stray` must not quietly ignore "stray".
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{fs.Name() + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// usageOf is the line of the program's usage that shows command name.
func usageOf(name string) string {
	for _, line := range strings.Split(usage, "\n") {
		line = strings.TrimSpace(line)
		if line == "keydesk "+name || strings.HasPrefix(line, "keydesk "+name+" ") {
			return line
		}
	}
	return "keydesk " + name
}

// invalidInput turns the errors of a shared input rule (store.*Input) into
// a usage mistake, with the same sentences the web shows beside its fields,
// each after the flag it is about, in the order of fields.
func invalidInput(cmd string, errs store.FieldErrors, fields ...string) error {
	if len(errs) == 0 {
		return nil
	}
	for field := range errs {
		if !slices.Contains(fields, field) {
			fields = append(fields, field) // a field the caller did not expect still shows
		}
	}
	var msgs []string
	for _, field := range fields {
		if msg, ok := errs[field]; ok {
			msgs = append(msgs, flagOf(field)+": "+msg)
		}
	}
	return usageError{cmd + ": " + strings.Join(msgs, "; ")}
}

// flagOf names a form field the way the command line takes it: fields and
// flags share their names, and the password comes from stdin.
func flagOf(field string) string {
	if field == "password" {
		return "the password on stdin"
	}
	return "--" + field
}
