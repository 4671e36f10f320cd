// Shell completion scripts generated from the command table:
//   source <(postamt completion bash)      or    postamt completion zsh > ~/.zfunc/_postamt
import { commands } from './commands.js';

const EXTRA = ['config', 'completion', 'help'];
const GLOBAL_FLAGS = '--json --url --token --redis --help';

function groups(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const c of commands) {
    const [g, sub] = c.words as [string, string | undefined];
    const list = m.get(g) ?? [];
    if (sub) list.push(sub);
    m.set(g, list);
  }
  m.set('config', ['check']);
  m.set('completion', ['bash', 'zsh']);
  return m;
}

export function completionScript(shell: string): string | null {
  const g = groups();
  const top = [...new Set([...g.keys(), ...EXTRA])].join(' ');
  const cases = [...g.entries()]
    .filter(([, subs]) => subs.length)
    .map(
      ([k, subs]) => `    ${k}) COMPREPLY=($(compgen -W "${subs.join(' ')} ${GLOBAL_FLAGS}" -- "$cur")) ;;`,
    )
    .join('\n');
  if (shell === 'bash') {
    return `# bash completion for postamt
_postamt() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${top} ${GLOBAL_FLAGS}" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    *) COMPREPLY=($(compgen -W "${GLOBAL_FLAGS}" -- "$cur")) ;;
  esac
}
complete -F _postamt postamt
`;
  }
  if (shell === 'zsh') {
    return `#compdef postamt
# zsh completion for postamt (uses bash completion emulation)
autoload -U +X bashcompinit && bashcompinit
${completionScript('bash')}`;
  }
  return null;
}
