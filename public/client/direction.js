// lang and dir for text in a language (no dependencies: the newsroom console uses it on its own).
const RTL_SCRIPTS = new Set(['Arab', 'Hebr', 'Thaa', 'Syrc', 'Nkoo', 'Adlm', 'Rohg', 'Mand', 'Samr']);

/**
 * `lang` and `dir` for text in a BCP 47 language: Arabic, Hebrew, Persian, Urdu (any language written in a
 * right-to-left script) give `rtl`; an unknown or missing language gives no `lang` and `dir: 'auto'`.
 */
export function textDirection(language) {
  if (typeof language !== 'string' || language === '' || /^und(-|$)/i.test(language)) return { lang: null, dir: 'auto' };
  try {
    const locale = new Intl.Locale(language);
    // The script the language is written in (Intl's likely subtags: ar -> Arab, ur -> Arab, he -> Hebr).
    const script = locale.maximize().script;
    return { lang: locale.toString(), dir: !script ? 'auto' : RTL_SCRIPTS.has(script) ? 'rtl' : 'ltr' };
  } catch {
    return { lang: null, dir: 'auto' };
  }
}

/** Sets `lang` and `dir` on an element for text in `language`. */
export function setDirection(el, language) {
  const { lang, dir } = textDirection(language);
  if (lang) el.lang = lang;
  else el.removeAttribute('lang');
  el.dir = dir;
  return el;
}
