#!/usr/bin/env bash
# Translations of the portal (Flask-Babel): extract → update the French catalog → compile.
#
#   scripts/i18n.sh           extract the msgids of babel.cfg into portal/translations/messages.pot, merge them into
#                             portal/translations/fr/LC_MESSAGES/messages.po (new ones arrive empty, removed ones are
#                             dropped, no fuzzy guessing), then compile messages.mo. Safe to run again and again.
#   scripts/i18n.sh --check   change nothing; exit 1 when a msgid of the sources is missing from the .po (or the .po
#                             keeps one the sources no longer have), when an entry is untranslated or fuzzy, when a
#                             placeholder of a msgid is missing from its translation, or when messages.pot or
#                             messages.mo are not in step with the sources / the .po.
#
# After a plain run, translate the empty msgstr of the .po (French of a public administration, see
# /work/shared/GLOSSARY.md), then run the script again to compile.
# English needs no catalog: it is served from the msgids themselves.
#
# Environment: PYTHON (default: .venv/bin/python when it exists, else python3).
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
cd "$(dirname "$SELF")/.."

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

TRANSLATIONS=portal/translations
POT=$TRANSLATIONS/messages.pot
LOCALES=(fr)
# Functions that mark a msgid, besides Babel's defaults (_, gettext, ngettext, pgettext, npgettext, …).
# Keep in step with KEYWORDS in tests/portal/test_i18n.py.
KEYWORDS=(-k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 -k lazy_npgettext:1c,2,3)

pybabel() {
  "$PYTHON" -c 'import sys; from babel.messages.frontend import main; sys.argv[0] = "pybabel"; sys.exit(main())' "$@"
}

extract() {  # extract OUTPUT — line numbers are left out (--add-location=file) so that diffs stay readable
  pybabel -q extract -F babel.cfg "${KEYWORDS[@]}" -c TRANSLATORS: --add-location=file --sort-output \
    --project="Extranet des collectivités" --version="" --copyright-holder="Département" \
    --msgid-bugs-address="" -o "$1" .
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [[ "${1:-}" == "--check" ]]; then
  extract "$TMP/messages.pot"
  "$PYTHON" - "$TMP/messages.pot" "$POT" "$TRANSLATIONS" "${LOCALES[@]}" <<'PY'
import sys
from pathlib import Path

from babel.messages import checkers
from babel.messages.catalog import PYTHON_FORMAT
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

fresh_pot, committed_pot, translations, *locales = sys.argv[1:]
problems = []


def load_po(path, locale=None):
    with open(path, "rb") as fh:
        return read_po(fh, locale=locale)


def key(msg):
    return (msg.context, msg.id if isinstance(msg.id, str) else tuple(msg.id))


def placeholders(text):
    return {m.group(0) for m in PYTHON_FORMAT.finditer(text) if m.group(0) != "%%"}


def show(msg):
    return msg.id if isinstance(msg.id, str) else msg.id[0]


source = {key(m): m for m in load_po(fresh_pot) if m.id}

if not Path(committed_pot).exists():
    problems.append(f"{committed_pot} is missing: run scripts/i18n.sh")
else:
    committed = {key(m) for m in load_po(committed_pot) if m.id}
    if committed != set(source):
        problems.append(f"{committed_pot} is out of date ({len(set(source) - committed)} msgid(s) to add, "
                        f"{len(committed - set(source))} to drop): run scripts/i18n.sh")

for locale in locales:
    po_path = Path(translations, locale, "LC_MESSAGES", "messages.po")
    mo_path = po_path.with_suffix(".mo")
    if not po_path.exists():
        problems.append(f"{po_path} is missing: run scripts/i18n.sh")
        continue
    catalog = load_po(po_path, locale)
    if catalog.fuzzy:
        problems.append(f"{po_path}: the header is marked fuzzy")
    entries = {key(m): m for m in catalog if m.id}
    for k in sorted(set(source) - set(entries), key=str):
        problems.append(f"{po_path}: missing msgid {show(source[k])!r} (run scripts/i18n.sh, then translate it)")
    for k in sorted(set(entries) - set(source), key=str):
        problems.append(f"{po_path}: msgid no longer in the sources {show(entries[k])!r} (run scripts/i18n.sh)")
    for k, msg in entries.items():
        strings = msg.string if isinstance(msg.string, (list, tuple)) else [msg.string]
        if msg.fuzzy:
            problems.append(f"{po_path}: fuzzy {show(msg)!r}")
        elif not all(s and s.strip() for s in strings):
            problems.append(f"{po_path}: untranslated {show(msg)!r}")
        else:
            if msg.pluralizable and len(strings) != catalog.num_plurals:
                problems.append(f"{po_path}: {show(msg)!r} has {len(strings)} plural forms, "
                                f"not {catalog.num_plurals}")
            # the source's python-format flag decides: a template string gets it from its %(name)s
            if k in source and source[k].python_format:
                msg.flags.add("python-format")
            try:
                checkers.python_format(catalog, msg)
            except checkers.TranslationError as exc:
                problems.append(f"{po_path}: {show(msg)!r}: {exc}")
            # Babel lets a translation drop a placeholder: every %(name)s must be in every form
            ids = [msg.id] if isinstance(msg.id, str) else list(msg.id)
            names = set().union(*(placeholders(i) for i in ids))
            for i, form in enumerate(strings):
                if placeholders(form) != names:
                    problems.append(f"{po_path}: {show(msg)!r}: form {i} has {sorted(placeholders(form))}, "
                                    f"expected {sorted(names)}")
    # the committed .mo must hold the translations of the .po
    if not mo_path.exists():
        problems.append(f"{mo_path} is missing: run scripts/i18n.sh")
    else:
        with open(mo_path, "rb") as fh:
            compiled = read_mo(fh)
        want = {key(m): m.string for m in catalog if m.id and m.string and not m.fuzzy
                and all(m.string if isinstance(m.string, (list, tuple)) else [m.string])}
        have = {key(m): m.string for m in compiled if m.id}
        norm = lambda d: {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in d.items()}  # noqa: E731
        if norm(want) != norm(have):
            problems.append(f"{mo_path} does not match {po_path.name}: run scripts/i18n.sh")

for p in problems:
    print(p, file=sys.stderr)
print(f"i18n check: {len(source)} msgid(s) in the sources, "
      f"{'OK' if not problems else f'{len(problems)} problem(s)'}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
  exit $?
fi

if [[ $# -gt 0 ]]; then
  echo "usage: $0 [--check]" >&2
  exit 2
fi

# 1. Extract. The .pot is replaced only when more than its creation date changed.
extract "$TMP/messages.pot"
if [[ -f "$POT" ]] && cmp -s <(grep -v '^"POT-Creation-Date:' "$POT") <(grep -v '^"POT-Creation-Date:' "$TMP/messages.pot"); then
  echo "messages.pot: unchanged"
else
  cp "$TMP/messages.pot" "$POT"
  echo "messages.pot: updated"
fi

# 2. Update (or create) each catalog: exact matches only, obsolete entries dropped (git keeps their history).
for locale in "${LOCALES[@]}"; do
  po="$TRANSLATIONS/$locale/LC_MESSAGES/messages.po"
  if [[ ! -f "$po" ]]; then
    pybabel init -i "$POT" -d "$TRANSLATIONS" -D messages -l "$locale"
  fi
  cp "$po" "$TMP/before.po"
  pybabel -q update -i "$POT" -d "$TRANSLATIONS" -D messages -l "$locale" --no-fuzzy-matching --ignore-obsolete
  # pybabel rewrites the header dates at every run; keep the file as it was when no entry changed
  if cmp -s <(grep -v '^"POT-Creation-Date:\|^"PO-Revision-Date:' "$TMP/before.po") \
            <(grep -v '^"POT-Creation-Date:\|^"PO-Revision-Date:' "$po"); then
    cp "$TMP/before.po" "$po"
  fi
done

# 3. Compile (untranslated entries fall back to the English msgid), then report what is left to translate.
status=0
for locale in "${LOCALES[@]}"; do
  pybabel compile -d "$TRANSLATIONS" -D messages -l "$locale" --statistics
done
bash "$SELF" --check >/dev/null 2>"$TMP/check.txt" || {
  status=$?
  echo "Still to do:" >&2
  cat "$TMP/check.txt" >&2
}
exit $status
