package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/alecthomas/kong"
)

// envPrefix starts the name of every flag's environment variable:
// --log-format is WSBRIDGE_LOG_FORMAT.
const envPrefix = "WSBRIDGE"

// BeforeReset drops the flags' variables that are set but empty, so
// that WSBRIDGE_SSL= means what leaving it out means, as it does for a
// shell or a systemd unit that sets it from something empty.
func (c *cli) BeforeReset(k *kong.Kong) error {
	for _, f := range k.Model.Node.Flags {
		for _, env := range f.Envs {
			if v, ok := os.LookupEnv(env); ok && v == "" {
				os.Unsetenv(env)
			}
		}
	}
	return nil
}

// AfterApply warns on stderr of the WSBRIDGE_ variables that name no
// flag, so that a misspelt one is noticed, unless --passenv passes them
// to the programs.
func (c *cli) AfterApply(k *kong.Kong) error {
	for _, w := range unknownVariables(k.Model.Node.Flags, os.Environ(), c.PassEnv) {
		fmt.Fprintf(k.Stderr, "wsbridge: warning: %s\n", w)
	}
	return nil
}

// unknownVariables returns a warning for each variable of environ that
// starts with WSBRIDGE_, is not empty, and is neither a flag's variable
// nor one of passed, naming the nearest variable when one is near.
func unknownVariables(flags []*kong.Flag, environ, passed []string) []string {
	var known []string
	commandLineOnly := map[string]string{} // the variable a flag would have → the flag
	for _, f := range flags {
		known = append(known, f.Envs...)
		if len(f.Envs) == 0 {
			commandLineOnly[envPrefix+"_"+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))] = f.Name
		}
	}
	var warnings []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix+"_") || value == "" || slices.Contains(known, name) || slices.Contains(passed, name) {
			continue
		}
		if flag, ok := commandLineOnly[name]; ok {
			warnings = append(warnings, fmt.Sprintf("%s is ignored: --%s comes from the command line only", name, flag))
			continue
		}
		w := name + " is no flag's variable and is ignored"
		if near := nearest(name, known); near != "" {
			w += "; did you mean " + near + "?"
		}
		warnings = append(warnings, w)
	}
	return warnings
}

// nearest returns the name of names nearest to name, if it is a slip of
// the keyboard away: one letter missing, extra, wrong or swapped with
// the next, or two of these in a longer name.
func nearest(name string, names []string) string {
	best, bestDistance := "", 3
	for _, n := range names {
		d := distance(name, n)
		if d < bestDistance && (d == 1 || len(n) >= len(envPrefix)+7) {
			best, bestDistance = n, d
		}
	}
	return best
}

// distance is the number of letters to insert, delete, replace, or swap
// with the next, to turn a into b (the optimal string alignment distance).
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// BeforeResolve loads the --config file, if there is one, into c.file,
// the resolver of the flags that neither the command line nor the
// environment sets.
func (c *cli) BeforeResolve(k *kong.Kong, ctx *kong.Context) error {
	var path string
	for _, f := range k.Model.Node.Flags {
		if f.Name == "config" {
			path = ctx.FlagValue(f).(string)
		}
	}
	if path == "" {
		return nil
	}
	file, err := loadConfig(path, k.Model.Node.Flags)
	if err != nil {
		return err
	}
	c.file = *file
	return nil
}

// configFile is a TOML file of flag values keyed by the flags' long
// names, plus the COMMAND under "command". It is a kong.Resolver that
// gives way to the environment; the zero value resolves nothing. Having
// a resolver also makes kong report a bad environment variable only when
// the command line does not set the flag.
type configFile struct {
	values  map[string]any // kong-ready values by flag name
	command []string
}

// loadConfig reads the TOML file at path and checks each of its keys
// against flags: an unknown key or a value of the wrong kind is an error
// naming the file and the key.
func loadConfig(path string, flags []*kong.Flag) (*configFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	byName := map[string]*kong.Flag{}
	for _, f := range flags {
		if configurable(f) {
			byName[f.Name] = f
		}
	}
	file := &configFile{values: map[string]any{}}
	keys := make([]string, 0, len(raw))
	for key := range raw {
		keys = append(keys, key)
	}
	slices.Sort(keys) // the same file, the same error
	for _, key := range keys {
		v := raw[key]
		if key == "command" {
			args, err := commandValue(v)
			if err != nil {
				return nil, fmt.Errorf("%s: command: %w", path, err)
			}
			file.command = args
			continue
		}
		f, ok := byName[key]
		if !ok {
			return nil, fmt.Errorf("%s: unknown key %q", path, key)
		}
		value, err := flagValue(f, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, key, err)
		}
		file.values[key] = value
	}
	return file, nil
}

// configurable reports whether a flag can come from the environment and
// the config file: every flag that sets something, not those that print
// and exit, nor --config itself.
func configurable(f *kong.Flag) bool {
	return len(f.Envs) > 0 && f.Name != "config"
}

// flagValue checks a TOML value against the flag's type and returns it
// in the form kong parses for that flag.
func flagValue(f *kong.Flag, v any) (any, error) {
	t := f.Target.Type()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
		return nil, fmt.Errorf("want true or false, got %s", describe(v))
	case reflect.Int, reflect.Int64:
		if n, ok := v.(int64); ok {
			return strconv.FormatInt(n, 10), nil
		}
		return nil, fmt.Errorf("want an integer, got %s", describe(v))
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %s", describe(v))
		}
		if f.Enum != "" && !f.EnumMap()[s] {
			return nil, fmt.Errorf("want one of %s, got %q", strings.Join(f.EnumSlice(), ", "), s)
		}
		return s, nil
	case reflect.Slice:
		if s, ok := v.(string); ok {
			return s, nil // read as on the command line
		}
		list, ok := stringList(v)
		if !ok {
			return nil, fmt.Errorf("want a string or an array of strings, got %s", describe(v))
		}
		values := make([]any, len(list))
		for i, s := range list {
			values[i] = s
		}
		return values, nil
	}
	return nil, fmt.Errorf("cannot be set in a file (a %s flag)", t)
}

// commandValue returns the program and its arguments that the file's
// command gives: an array of strings, or a string that is the program
// alone. A string with spaces is taken for a program with arguments,
// which are not split out of it, so it asks for an array.
func commandValue(v any) ([]string, error) {
	if s, ok := v.(string); ok {
		words := strings.Fields(s)
		if len(words) == 1 && words[0] == s {
			return words, nil
		}
		if len(words) > 0 {
			for i, w := range words {
				words[i] = strconv.Quote(w)
			}
			return nil, fmt.Errorf("%q has spaces: give the program and its arguments as an array, [%s]", s, strings.Join(words, ", "))
		}
	}
	if args, ok := stringList(v); ok && len(args) > 0 {
		return args, nil
	}
	return nil, fmt.Errorf("want a string or a non-empty array of strings, got %s", describe(v))
}

// stringList returns v as a list of strings, if it is a TOML array of
// strings.
func stringList(v any) ([]string, bool) {
	items, ok := v.([]any)
	if !ok {
		return nil, false
	}
	list := make([]string, len(items))
	for i, item := range items {
		if list[i], ok = item.(string); !ok {
			return nil, false
		}
	}
	return list, true
}

// describe says what a TOML value is, for an error message.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprint(v)
}

// Resolve implements kong.Resolver: the flag's value from the file,
// unless its environment variable is set, which comes first.
func (f *configFile) Resolve(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
	for _, env := range flag.Envs {
		if _, ok := os.LookupEnv(env); ok {
			return nil, nil
		}
	}
	return f.values[flag.Name], nil
}

// Validate implements kong.Resolver; loadConfig has checked every key.
func (f *configFile) Validate(*kong.Application) error { return nil }
