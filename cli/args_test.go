package cli

import (
	"flag"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestParseArgsInterleaved: flags may come before or after positional
// arguments; "--" ends the flags, unless it is a flag's value.
func TestParseArgsInterleaved(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		positional []string
		id         string
		failedOnly bool
	}{
		{[]string{"ID"}, []string{"ID"}, "", false},
		{[]string{"-failed-only", "ID"}, []string{"ID"}, "", true},
		{[]string{"ID", "-failed-only"}, []string{"ID"}, "", true},
		{[]string{"ID", "-id", "new", "-failed-only"}, []string{"ID"}, "new", true},
		{[]string{"-id", "new", "ID", "--failed-only"}, []string{"ID"}, "new", true},
		{[]string{"A", "-id=new", "B", "-failed-only", "C"}, []string{"A", "B", "C"}, "new", true},
		{[]string{"ID", "--", "-failed-only"}, []string{"ID", "-failed-only"}, "", false},
		{[]string{"--", "-id"}, []string{"-id"}, "", false},
		{[]string{"-id", "--", "ID", "-failed-only"}, []string{"ID"}, "--", true},
		{[]string{"-failed-only", "--", "ID"}, []string{"ID"}, "", true},
		{[]string{"-id=x", "--", "-failed-only"}, []string{"-failed-only"}, "x", false},
		{[]string{"-", "-failed-only"}, []string{"-"}, "", true},
		{nil, nil, "", false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		id := fs.String("id", "", "")
		failedOnly := fs.Bool("failed-only", false, "")
		got, err := parseArgs(fs, tc.args)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !slices.Equal(got, tc.positional) || *id != tc.id || *failedOnly != tc.failedOnly {
			t.Errorf("%q: positional %q, -id %q, -failed-only %v; want %q, %q, %v", tc.args, got, *id, *failedOnly, tc.positional, tc.id, tc.failedOnly)
		}
	}
}

// TestSubcommandFlagsAfterTheWorkflowID: every subcommand takes its flags
// after its positional arguments as before them, -dev included (before the
// subcommand's name or among its flags).
func TestSubcommandFlagsAfterTheWorkflowID(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	parse := func(t *testing.T, devFirst bool, args ...string) (subcommand, bool) {
		t.Helper()
		cmd, dev, err := parseCommand(lookupCommand(args[0]), devFirst, args[1:], io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		return cmd, dev
	}
	t.Run("list", func(t *testing.T) {
		for _, args := range [][]string{{"list", "-n", "5"}, {"list", "-n", "5", "-dev"}} {
			cmd, dev := parse(t, false, args...)
			if l := cmd.(*listCmd); l.n != 5 || dev != (len(args) == 4) {
				t.Errorf("%q: -n %d, dev %v", args, l.n, dev)
			}
		}
	})
	t.Run("result", func(t *testing.T) {
		for _, args := range [][]string{
			{"result", "ID", "-out", out, "-html", "none"},
			{"result", "-out", out, "ID", "-html", "none"},
			{"result", "-out", out, "-html", "none", "--", "ID"},
		} {
			cmd, _ := parse(t, false, args...)
			if r := cmd.(*resultCmd); r.id != "ID" || r.jsonPath != out || r.htmlPath != "" {
				t.Errorf("%q: id %q, JSON %q, HTML %q", args, r.id, r.jsonPath, r.htmlPath)
			}
		}
	})
	t.Run("rerun", func(t *testing.T) {
		for _, args := range [][]string{
			{"rerun", "ID", "-failed-only", "-id", "new", "-out", out},
			{"rerun", "-failed-only", "ID", "-id=new", "-out", out},
		} {
			cmd, _ := parse(t, false, args...)
			if r := cmd.(*rerunCmd); r.orig != "ID" || !r.failedOnly || r.o.workflowID != "new" || r.o.out != out {
				t.Errorf("%q: %+v", args, r)
			}
		}
	})
	t.Run("-dev before the name or after the ID", func(t *testing.T) {
		if _, dev := parse(t, true, "result", "ID", "-out", out); !dev {
			t.Error("starter -dev result ID: not on the demo's runs")
		}
		if _, dev := parse(t, false, "result", "ID", "-dev", "-out", out); !dev {
			t.Error("starter result ID -dev: not on the demo's runs")
		}
		if _, dev := parse(t, false, "result", "ID", "-out", out); dev {
			t.Error("starter result ID: on the demo's runs")
		}
	})
	t.Run("main command", func(t *testing.T) {
		o, err := parseFlags([]string{"-attach", "ID", "-quiet", "-out", out}, io.Discard)
		if err != nil || o.attach != "ID" || !o.quiet || o.out != out {
			t.Errorf("-attach ID -quiet: %+v, %v", o, err)
		}
	})
}

// TestFlagsAfterTheIDReachTemporal: `starter rerun ID -failed-only`, once
// refused as "takes one workflow ID", gets past the checks (to the
// unreachable test server), like the other subcommands with flags last.
func TestFlagsAfterTheIDReachTemporal(t *testing.T) {
	isolate(t)
	out := filepath.Join(t.TempDir(), "r.json")
	for _, args := range [][]string{
		{"rerun", "some-id", "-failed-only"},
		{"rerun", "some-id", "-failed-only", "-out", out, "-id", "new"},
		{"result", "some-id", "-out", out},
		{"list", "-n", "3"},
	} {
		code, stdout, stderr := runMain(t, args...)
		line := oneErrorLine(t, stderr)
		if code != ExitBadInput || !strings.Contains(line, deadAddress) || stdout != "" {
			t.Errorf("%q: exit %d, %q; want it to try Temporal at %s", args, code, line, deadAddress)
		}
	}
}

// TestBadArgumentsAnywhereAreRefusedBeforeStart: a bad flag or a second
// argument, before or after the workflow ID, is one line and exit 2 before
// Temporal is dialled.
func TestBadArgumentsAnywhereAreRefusedBeforeStart(t *testing.T) {
	isolate(t)
	out := filepath.Join(t.TempDir(), "r.json")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rerun", "some-id", "-nope"}, "-nope"},
		{[]string{"rerun", "some-id", "other-id", "-failed-only"}, "one workflow ID"},
		{[]string{"result", "some-id", "-n", "3"}, "-n"},
		{[]string{"result", "-out", out}, "one workflow ID"},
		{[]string{"list", "-n", "3", "extra"}, `"extra"`},
		{[]string{"-dev", "rerun", "some-id", "-nope"}, "-nope"},
		{[]string{"-requests", "3", "extra", "-quiet"}, `"extra"`},
		{[]string{"-requests", "3", "list"}, "a subcommand comes first"},
	} {
		args := tc.args
		if args[0] != "list" { // the one without -out
			args = append(args, "-out", out)
		}
		code, stdout, stderr := runMain(t, args...)
		refusedBeforeStart(t, code, stdout, stderr, tc.want, out)
	}
}

// TestHelpHasExamples: `starter -h` and each subcommand's -h (given
// anywhere among its arguments) list what it takes and one-line examples,
// some with flags after the workflow ID.
func TestHelpHasExamples(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"Examples:", "  starter -dev ", "  starter -sweep 1,2,4,8,16", "  starter rerun " + exampleID + " -failed-only", "before or after"}},
		{[]string{"list", "-h"}, []string{"Usage: starter [-dev] list [-n N]", "Examples:", "  starter list -n 5\n", "  starter -dev list\n"}},
		{[]string{"result", "-h"}, []string{"Usage: starter [-dev] result [-out FILE] [-html FILE] WORKFLOW_ID", "Examples:", "  starter result " + exampleID + " -out run.json -html none\n"}},
		{[]string{"rerun", "-h"}, []string{"Usage: starter [-dev] rerun", "Examples:", "  starter rerun " + exampleID + " -failed-only\n", "before or after"}},
		{[]string{"rerun", "some-id", "-h"}, []string{"Usage: starter [-dev] rerun", "Examples:"}},
		{[]string{"-dev", "result", "some-id", "-h"}, []string{"Usage: starter [-dev] result", "Examples:"}},
	} {
		code, stdout, stderr := runMain(t, tc.args...)
		if code != ExitOK || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; want 0 and the usage on stderr", tc.args, code, stdout)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%q: usage lacks %q:\n%s", tc.args, w, stderr)
			}
		}
	}
	// Every subcommand's examples are in its -h, and each one parses.
	for _, c := range commands {
		_, _, stderr := runMain(t, c.name, "-h")
		for _, e := range c.examples {
			if !strings.Contains(stderr, "  "+e+"\n") {
				t.Errorf("%s -h lacks its example %q", c.name, e)
			}
			args := strings.Fields(e)[1:]
			devFirst := isDevFlag(args[0])
			if devFirst {
				args = args[1:]
			}
			if _, _, err := parseCommand(lookupCommand(args[0]), devFirst, args[1:], io.Discard); err != nil {
				t.Errorf("example %q does not parse: %v", e, err)
			}
		}
	}
}

// TestDestinationWriters: the report goes to stdout, or to stderr when
// stdout carries the JSON (-json), or nowhere but the conclusion (-quiet).
func TestDestinationWriters(t *testing.T) {
	var stdout, stderr strings.Builder
	for _, tc := range []struct {
		quiet, jsonOut                bool
		human, conclusion, jsonStream io.Writer
	}{
		{false, false, &stdout, nil, nil},
		{false, true, &stderr, nil, &stdout},
		{true, false, io.Discard, &stdout, nil},
		{true, true, io.Discard, &stderr, &stdout},
	} {
		d := newDestination("r.json", "r.html", &stdout, &stderr, tc.quiet, tc.jsonOut)
		if d.human != tc.human || d.conclusion != tc.conclusion || d.jsonStream != tc.jsonStream || d.jsonPath != "r.json" || d.htmlPath != "r.html" {
			t.Errorf("-quiet %v -json %v: %+v", tc.quiet, tc.jsonOut, d)
		}
	}
}
