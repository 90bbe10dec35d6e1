package main

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kong"
)

// completionFlag is --completion=SHELL: it prints the completion script
// for bash, zsh or fish and exits.
type completionFlag string

// BeforeReset prints the script as soon as kong sees the flag, before the
// environment or a config file is read.
func (completionFlag) BeforeReset(k *kong.Kong, ctx *kong.Context, trace *kong.Path) error {
	flags := completionFlags(k.Model.Node.Flags)
	var script string
	switch shell := ctx.FlagValue(trace.Flag).(completionFlag); shell {
	case "bash":
		script = bashCompletion(flags)
	case "zsh":
		script = zshCompletion(flags)
	case "fish":
		script = fishCompletion(flags)
	default:
		return fmt.Errorf("--completion=%s: want bash, zsh or fish", shell)
	}
	fmt.Fprint(k.Stdout, script)
	k.Exit(0)
	return nil
}

// flagSpec is what a completion script knows of a flag.
type flagSpec struct {
	names   []string // --name, and --no-name for a negatable one
	summary string   // the help, up to its first "; " or "(default"
	value   string   // "" for a switch, else "word", "file", "dir" or "enum"
	enum    []string
	repeat  bool // it may be given more than once
}

// completionFlags describes the flags for the completion scripts. A
// placeholder of FILE or PATH completes file names, DIR directories.
func completionFlags(flags []*kong.Flag) []flagSpec {
	var specs []flagSpec
	for _, f := range flags {
		if f.Hidden {
			continue
		}
		s := flagSpec{names: []string{"--" + f.Name}, summary: summary(f.Help), repeat: f.IsSlice()}
		switch f.Tag.Negatable {
		case "":
		case "_":
			s.names = append(s.names, "--no-"+f.Name)
		default:
			s.names = append(s.names, "--"+f.Tag.Negatable)
		}
		switch {
		case f.IsBool():
		case f.Enum != "":
			s.value, s.enum = "enum", f.EnumSlice()
		case f.PlaceHolder == "FILE" || f.PlaceHolder == "PATH":
			s.value = "file"
		case f.PlaceHolder == "DIR":
			s.value = "dir"
		default:
			s.value = "word"
		}
		specs = append(specs, s)
	}
	return specs
}

// summary shortens a flag's help to its first clause.
func summary(help string) string {
	help, _, _ = strings.Cut(help, " (default")
	help, _, _ = strings.Cut(help, "; ")
	return strings.TrimSuffix(help, ".")
}

// quote quotes s for a POSIX shell, fish or zsh.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// bashCompletion is the bash script: flags and their values, then COMMAND
// from the commands on PATH, then file names for its arguments. It uses
// neither associative arrays nor negative indexes, which macOS's bash 3.2
// lacks.
func bashCompletion(flags []flagSpec) string {
	var names []string
	byKind := map[string][]string{}
	var enums strings.Builder
	for _, f := range flags {
		names = append(names, f.names...)
		switch f.value {
		case "":
		case "enum":
			fmt.Fprintf(&enums, "\t%s) echo %s ;;\n", f.names[0], quote("enum:"+strings.Join(f.enum, " ")))
		default:
			byKind[f.value] = append(byKind[f.value], f.names[0])
		}
	}
	var cases strings.Builder
	for _, kind := range []string{"word", "file", "dir"} {
		if len(byKind[kind]) > 0 {
			fmt.Fprintf(&cases, "\t%s) echo %s ;;\n", strings.Join(byKind[kind], "|"), kind)
		}
	}
	cases.WriteString(enums.String())
	return fmt.Sprintf(`# bash completion for wsbridge. Install it with
#   wsbridge --completion=bash > /etc/bash_completion.d/wsbridge
# or load it in the running shell with
#   source <(wsbridge --completion=bash)

# _wsbridge_value prints what a flag's value is: word, file, dir, or
# enum: and the values; nothing for a switch.
_wsbridge_value() {
	case $1 in
%s	esac
}

_wsbridge() {
	local flags=%s
	local words=() w i last
	# Put back together the "--flag=value" words that readline splits at "=".
	for ((i = 1; i <= COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		last=$((${#words[@]} - 1))
		if ((last >= 0)) && [[ $w == = && ${words[last]} == -* || ${COMP_WORDS[i-1]} == = && ${words[last]} == *= ]]; then
			words[last]=${words[last]}$w
		else
			words+=("$w")
		fi
	done
	local n=${#words[@]}
	local cur=${words[n-1]} flag= prefix= program=
	# Skip the flags and their values: the first other word is COMMAND.
	for ((i = 0; i < n - 1; i++)); do
		w=${words[i]}
		[[ $w == -[!-]* ]] && w=-$w
		if [[ $w == -- ]]; then
			program=1
			((i++))
			break
		fi
		[[ $w == -* ]] || break
		if [[ $w != *=* && -n $(_wsbridge_value "$w") ]]; then
			((i++))
			((i == n - 1)) && flag=$w
		fi
	done
	if ((i < n - 1)); then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	if [[ -z $flag && -z $program && $cur == -*=* ]]; then
		flag=${cur%%%%=*}
		[[ $flag == -[!-]* ]] && flag=-$flag
		[[ $cur == "${COMP_WORDS[COMP_CWORD]}" ]] && prefix=${cur%%%%=*}=
		cur=${cur#*=}
	fi
	if [[ -n $flag ]]; then
		local value=$(_wsbridge_value "$flag")
		case $value in
		file) COMPREPLY=($(compgen -f -- "$cur")) ;;
		dir) COMPREPLY=($(compgen -d -- "$cur")) ;;
		enum:*) COMPREPLY=($(compgen -W "${value#enum:}" -- "$cur")) ;;
		esac
		COMPREPLY=("${COMPREPLY[@]/#/$prefix}")
	elif [[ -z $program && $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$flags" -- "$cur"))
	else
		COMPREPLY=($(compgen -c -- "$cur"))
	fi
}
complete -o filenames -F _wsbridge wsbridge
`, cases.String(), quote(strings.Join(names, " ")))
}

// zshCompletion is the zsh script, an _arguments spec.
func zshCompletion(flags []flagSpec) string {
	var specs []string
	for _, f := range flags {
		desc := strings.NewReplacer(`[`, `\[`, `]`, `\]`).Replace(f.summary)
		prefix := ""
		switch {
		case f.repeat:
			prefix = "*"
		case len(f.names) > 1:
			prefix = "(" + strings.Join(f.names, " ") + ")"
		}
		for i, name := range f.names {
			if i > 0 {
				desc = "The opposite of " + f.names[0]
			}
			spec := prefix + name
			switch f.value {
			case "":
				spec += "[" + desc + "]"
			case "enum":
				spec += "=[" + desc + "]:value:(" + strings.Join(f.enum, " ") + ")"
			case "file":
				spec += "=[" + desc + "]:file:_files"
			case "dir":
				spec += "=[" + desc + "]:directory:_files -/"
			default:
				spec += "=[" + desc + "]:value: "
			}
			specs = append(specs, quote(spec))
		}
	}
	specs = append(specs, quote("1:command:_command_names -e"), quote("*::argument:_normal"))
	return `#compdef wsbridge
# zsh completion for wsbridge. Install it as _wsbridge in a directory of
# $fpath, before compinit runs:
#   wsbridge --completion=zsh > "${fpath[1]}/_wsbridge"
# or load it in the running shell (after compinit) with
#   source <(wsbridge --completion=zsh)

_wsbridge() {
	_arguments -S \
		` + strings.Join(specs, " \\\n\t\t") + `
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
	_wsbridge "$@"
else
	compdef _wsbridge wsbridge
fi
`
}

// fishCompletion is the fish script: flags and COMMAND until COMMAND is
// given, then fish's own file completion.
func fishCompletion(flags []flagSpec) string {
	var b strings.Builder
	var takesValue []string
	for _, f := range flags {
		if f.value != "" {
			takesValue = append(takesValue, f.names[0])
		}
	}
	fmt.Fprintf(&b, `# fish completion for wsbridge. Install it with
#   wsbridge --completion=fish > ~/.config/fish/completions/wsbridge.fish
# or load it in the running shell with
#   wsbridge --completion=fish | source

# __wsbridge_state says where the word being typed is: "flags" before
# COMMAND, "value" for the value of a flag given as --flag VALUE, and
# "command" once COMMAND has been given.
function __wsbridge_state
    set -l takes_value %s
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case -- --
                set -q words[2]; and echo command; or echo flags
                return
            case '-*=*'
            case '-*'
                if contains -- (string replace -r -- '^-?-' '--' $words[1]) $takes_value
                    if not set -q words[2]
                        echo value
                        return
                    end
                    set -e words[1]
                end
            case '*'
                echo command
                return
        end
        set -e words[1]
    end
    echo flags
end

complete -c wsbridge -n 'test (__wsbridge_state) = flags' -f -a '(__fish_complete_command)'
`, strings.Join(takesValue, " "))
	for _, f := range flags {
		for i, name := range f.names {
			desc := f.summary
			if i > 0 {
				desc = "The opposite of " + f.names[0]
			}
			fmt.Fprintf(&b, "complete -c wsbridge -n 'test (__wsbridge_state) != command' -l %s", strings.TrimPrefix(name, "--"))
			switch f.value {
			case "enum":
				fmt.Fprintf(&b, " -x -a %s", quote(strings.Join(f.enum, " ")))
			case "file":
				b.WriteString(" -r -F")
			case "dir":
				b.WriteString(" -x -a '(__fish_complete_directories)'")
			case "word":
				b.WriteString(" -x")
			}
			fmt.Fprintf(&b, " -d %s\n", quote(desc))
		}
	}
	return b.String()
}
