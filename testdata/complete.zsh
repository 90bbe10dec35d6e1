# Runs zsh's completion for real: zsh -f complete.zsh SCRIPT OUT LINE
# starts an interactive zsh on a pseudo-terminal, loads SCRIPT after
# compinit, types LINE and a tab, and writes each candidate offered to OUT.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT='READ''Y> ' RPROMPT=''; unsetopt autolist; autoload -U compinit; compinit -u; source ${(q)1}"
zpty -w z "compadd() { if (( \$@[(I)-[OAD]] )); then builtin compadd \"\$@\"; return; fi; local -a m; builtin compadd -O m \"\$@\"; print -rl -- \$m >> ${(q)2}; builtin compadd \"\$@\"; }"
zpty -r z out '*READY> *READY> '
zpty -w -n z "$3"$'\t'
zpty -w -n z $'\C-u'
# The shell runs what it is given in order: once it prints the sum, the
# completion is over.
zpty -w z 'print COMPLETED-$((20+6))'
zpty -r z out '*COMPLETED-26*'
zpty -d z
