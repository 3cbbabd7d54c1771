# bash completion for interpctl.
#
# Installed as share/bash-completion/completions/interpctl (bash-completion
# loads it the first time `interpctl <TAB>` is pressed); without
# bash-completion, source it from ~/.bashrc:
#   source /path/to/clients/completion/interpctl.bash
#
# Actor names (call, send, stop) come from `interpctl actors -q` against the
# same socket the command line names, so they are the live ones; a daemon
# that is down or has no actors simply offers none.

_interpctl_actor_names() {
    # $1: the --socket argument found on the command line, if any.
    local -a socket_args=()
    [[ -n $1 ]] && socket_args=(--socket "$1")
    "${COMP_WORDS[0]}" "${socket_args[@]}" actors -q 2>/dev/null
}

_interpctl() {
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}

    local commands="run ping version stats actors call send spawn stop"
    local global_opts="--socket -s --help -h --version"

    # Find the subcommand, the --socket value, and how many operands (words
    # that are neither options nor option values) follow the subcommand.
    local i word command="" socket="" operands=0 expects_value=0 after_dashdash=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if ((expects_value)); then
            expects_value=0
            continue
        fi
        if [[ -z $command ]]; then
            case $word in
                -s|--socket) socket=${COMP_WORDS[i+1]}; expects_value=1 ;;
                --socket=*) socket=${word#--socket=} ;;
                -*) ;;
                *) command=$word ;;
            esac
            continue
        fi
        if ((after_dashdash)) || ((operands > 0)); then
            ((operands++))
            continue
        fi
        case $word in
            --) after_dashdash=1 ;;
            -s|--socket) socket=${COMP_WORDS[i+1]}; expects_value=1 ;;
            -c|--code|-t|--timeout|-w|--worker|--isolation|--lane|--memory-limit|--stdin|--name|--kwargs|--restart|--max-restarts)
                expects_value=1 ;;
            -*) ;;
            *) ((operands++)) ;;
        esac
    done

    if [[ -z $command ]]; then
        case $prev in
            -s|--socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    # Values of options.
    case $prev in
        -s|--socket|--stdin) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --isolation) COMPREPLY=($(compgen -W "reuse fresh" -- "$cur")); return ;;
        --lane) COMPREPLY=($(compgen -W "isolated compat auto" -- "$cur")); return ;;
        --restart) COMPREPLY=($(compgen -W "never on-failure" -- "$cur")); return ;;
        -c|--code|-t|--timeout|-w|--worker|--name|--kwargs|--max-restarts) return ;;
    esac

    local opts="--socket -s --help -h"
    case $command in
        run) opts+=" --code -c --timeout -t --worker -w --isolation --lane --memory-limit --stdin --name --by-path --quiet -q --json" ;;
        version|stats) opts+=" --json" ;;
        actors) opts+=" --json --quiet -q" ;;
        call) opts+=" --kwargs --timeout -t --quiet -q" ;;
        send) opts+=" --kwargs" ;;
        spawn) opts+=" --code -c --kwargs --worker -w --restart --max-restarts --memory-limit" ;;
    esac

    # Options are offered only before the first operand: after it, every
    # word belongs to the script or the method.
    if [[ $cur == -* ]] && ((operands == 0)) && ! ((after_dashdash)); then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi

    case $command in
        run)
            # The script file first; after it, its arguments are often files.
            COMPREPLY=($(compgen -f -- "$cur"))
            ;;
        call|send|stop)
            if ((operands == 0)); then
                COMPREPLY=($(compgen -W "$(_interpctl_actor_names "$socket")" -- "$cur"))
            fi
            ;;
        spawn)
            # NAME CLASS FILE: only the file can be completed.
            if ((operands == 2)); then
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            ;;
    esac
}

complete -o filenames -F _interpctl interpctl
