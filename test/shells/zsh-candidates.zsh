# zsh zsh-candidates.zsh SCRIPT LINE: the candidates a real interactive zsh (in a pty, with
# compinit) offers when Tab is pressed at the end of LINE, with the completion SCRIPT sourced.
# compadd is wrapped to record what each completion function adds.
zmodload zsh/zpty
out=$(mktemp)
zpty z zsh -f -i
zpty -w z 'PS1=""; autoload -U compinit; compinit -u -D'
zpty -w z "source ${(q)1}"
zpty -w z "compadd() { builtin compadd \"\$@\"; local -a m; builtin compadd -O m \"\$@\"; print -l -- \$m >> ${(q)out} }"
zpty -w z 'zstyle ":completion:*" menu no; unsetopt automenu'
# Tab runs completion, then marks it finished: waiting on the mark, not on a clock, keeps a slow
# first run (cold compinit) from being read before its last candidates.
zpty -w z "zle -C tsnorm-complete complete-word _main_complete; tab-then-mark() { zle tsnorm-complete; print -n > ${(q)out}.done }; zle -N tab-then-mark; bindkey '^I' tab-then-mark"
zpty -w z "print -n > ${(q)out}.ready"
for i in {1..100}; do [[ -e $out.ready ]] && break; sleep 0.05; done
zpty -w -n z "$2"$'\t'
for i in {1..400}; do [[ -e $out.done ]] && break; sleep 0.05; done
zpty -d z
sort -u $out
rm -f $out $out.ready $out.done
