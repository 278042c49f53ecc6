package cli

import (
	"flag"
	"strings"
)

// parseArgs parses args with fs, flags and positional arguments in any
// order (`starter rerun ID -failed-only` as `starter rerun -failed-only
// ID`), as the Temporal CLI and most modern CLIs do; after "--" every
// argument is positional. It returns the positional arguments in order.
// The flag package stops at the first positional argument: parseArgs takes
// it and goes on parsing what follows.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if endedByDoubleDash(fs, args[:len(args)-len(rest)]) {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// endedByDoubleDash reports whether fs.Parse, having consumed these
// arguments, stopped at a "--" that ends the flags, rather than at a
// positional argument: the last consumed argument is "--" and is not the
// value of the flag before it (`-id -- x` names the run "--").
func endedByDoubleDash(fs *flag.FlagSet, consumed []string) bool {
	n := len(consumed)
	if n == 0 || consumed[n-1] != "--" {
		return false
	}
	return n == 1 || !takesValue(fs, consumed[n-2])
}

// takesValue reports whether arg is a flag of fs that takes the next
// argument as its value: a flag that is not boolean, written without "=".
func takesValue(fs *flag.FlagSet, arg string) bool {
	name, ok := strings.CutPrefix(arg, "-")
	if !ok || strings.Contains(name, "=") {
		return false
	}
	name = strings.TrimPrefix(name, "-")
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, isBool := f.Value.(interface{ IsBoolFlag() bool })
	return !isBool || !b.IsBoolFlag()
}
