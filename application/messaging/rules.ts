import type { AutoReplier, AutoReply } from './autoReply.js';

/**
 * The rules responder: keywords or regular expressions to answers, first match wins, a fallback when
 * nothing matches (null fallback: no answer). The bot of the embedded default, offline.
 */
export type ReplyRule = {
  name: string;
  /** whole words or phrases, matched case- and accent-insensitively */
  keywords?: readonly string[];
  /** a regular expression (case-insensitive) */
  pattern?: string;
  answer: string;
};
export type RuleSet = { rules: readonly ReplyRule[]; fallback: string | null };

/** Lowercase, accents dropped, punctuation as spaces: "¿Qué HORARIO tenéis?" -> " que horario teneis ". */
export const normaliseForMatching = (text: string): string =>
  ` ${text
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()} `;

type Compiled = { name: string; keywords: string[]; pattern: RegExp | null; answer: string };

export const compileRules = (set: RuleSet): ((text: string) => AutoReply | null) => {
  const compiled: Compiled[] = set.rules.map((rule) => ({
    name: rule.name,
    keywords: (rule.keywords ?? []).map((k) => normaliseForMatching(k)).filter((k) => k.trim() !== ''),
    // eslint-disable-next-line security/detect-non-literal-regexp -- patterns come from the operator's own rules file in DATA_DIR (trusted configuration), compiled once at load
    pattern: rule.pattern ? new RegExp(rule.pattern, 'iu') : null,
    answer: rule.answer,
  }));
  return (text) => {
    const normalised = normaliseForMatching(text);
    for (const rule of compiled) {
      if (rule.keywords.some((k) => normalised.includes(k)) || (rule.pattern !== null && rule.pattern.test(text)))
        return { text: rule.answer, source: `rules:${rule.name}` };
    }
    return set.fallback === null ? null : { text: set.fallback, source: 'rules:fallback' };
  };
};

export const createRulesResponder = (set: RuleSet): AutoReplier => {
  const match = compileRules(set);
  return { usesHistory: false, reply: (request) => Promise.resolve(match(request.text)) };
};

/** Shipped defaults (Spanish): written to the data directory on first start, where they can be edited. */
export const DEFAULT_RULES: RuleSet = {
  rules: [
    {
      name: 'greeting',
      keywords: ['hola', 'buenas', 'buenos dias', 'buenas tardes', 'buenas noches', 'hello', 'hi'],
      answer: '¡Hola! Soy el asistente virtual. ¿En qué puedo ayudarte? Escribe «ayuda» para ver lo que puedo hacer.',
    },
    {
      name: 'hours',
      keywords: ['horario', 'hora', 'abierto', 'abris', 'abren', 'cierran', 'hours', 'open'],
      answer: 'Nuestro horario de atención es de lunes a viernes, de 9:00 a 18:00 (hora peninsular).',
    },
    {
      name: 'help',
      keywords: ['ayuda', 'help', 'menu', 'opciones'],
      pattern: '^\\s*\\?+\\s*$',
      answer:
        'Puedo informarte de nuestro horario (escribe «horario»). Si prefieres hablar con una persona, escribe «agente» y te atenderemos lo antes posible.',
    },
  ],
  fallback:
    'Gracias por tu mensaje. No he entendido la consulta; escribe «ayuda» para ver las opciones o espera a que te atienda una persona.',
};
