#!/usr/bin/env bash
# Translations (Flask-Babel): extract → update the French catalogs → compile. English needs no catalog: it is served
# from the msgids themselves.
#
#   scripts/i18n.sh [TARGET…]          extract the msgids of the sources (babel.cfg), write the .pot, merge it into
#                                      the French .po (new msgids arrive empty, removed ones are dropped, no fuzzy
#                                      guessing), compile the .mo. Safe to run again and again: nothing changes when
#                                      the sources did not.
#   scripts/i18n.sh --check [TARGET…]  change nothing; exit 1 when a msgid of the sources is missing from its .po (or a
#                                      .po keeps one the sources no longer have), an entry is untranslated or fuzzy,
#                                      a translation loses or adds a %(placeholder)s, or a .pot / .mo is not in step.
#
# Catalogs (TARGET; default: all of them):
#   portal   portal/translations/{messages.pot, fr/LC_MESSAGES/messages.po, .mo}: every msgid used outside the
#            service packages that ship their own catalog (portal/, templates, e-mails, service descriptors…).
#   <slug>   services/<slug>/translations/…, only when that folder exists (the portal merges it at start-up): the
#            msgids used in services/<slug>/. A msgid used in both places is in both catalogs (the .pot of each
#            catalog lists only its own files).
# To give a service its own catalog: mkdir services/<slug>/translations, then scripts/i18n.sh <slug>.
#
# After a run, translate the empty msgstr of the .po — clear French of a public administration: vouvoiement, accents,
# no-break space (U+00A0) before : ; ? ! » and after «, straight apostrophes, the words of docs/GLOSSARY.md —
# then run the script again to compile, and commit .pot, .po and .mo.
#
# Environment: PYTHON (default: .venv/bin/python when it exists, else python3).
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
cd "$(dirname "$SELF")/.."

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

LOCALE=fr
# Functions that mark a msgid, besides Babel's defaults (_, gettext, ngettext, pgettext, npgettext, …).
# Keep in step with KEYWORDS in tests/portal/test_i18n.py.
KEYWORDS=(-k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 -k lazy_npgettext:1c,2,3)

CHECK=0
if [[ "${1:-}" == "--check" ]]; then CHECK=1; shift; fi
for arg in "$@"; do
  if [[ "$arg" == -* ]]; then echo "usage: $0 [--check] [portal|<service slug>…]" >&2; exit 2; fi
done

pybabel() {
  "$PYTHON" -c 'import sys; from babel.messages.frontend import main; sys.argv[0] = "pybabel"; sys.exit(main())' "$@"
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The helper: splits one extraction into a .pot per catalog, and checks catalogs.
cat >"$TMP/i18n.py" <<'PY'
import copy
import sys
from pathlib import Path

from babel.messages import checkers
from babel.messages.catalog import PYTHON_FORMAT, Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po, write_po


def catalogs():
    """name → translations folder: the portal's, and each service package's own."""
    found = {"portal": Path("portal/translations")}
    for folder in sorted(Path("services").glob("*/translations")):
        if folder.is_dir():
            found[folder.parent.name] = folder
    return found


def owner(path, services):
    """The catalog of a source file: its service package's own catalog when it has one, else the portal's."""
    parts = Path(path).parts
    return parts[1] if len(parts) > 2 and parts[0] == "services" and parts[1] in services else "portal"


def load(path, locale=None):
    with open(path, "rb") as fh:
        return read_po(fh, locale=locale)


def key(msg):
    context = msg.context.decode("utf-8") if isinstance(msg.context, bytes) else msg.context  # read_mo gives bytes
    return (context, msg.id if isinstance(msg.id, str) else tuple(msg.id))


def show(msg):
    return msg.id if isinstance(msg.id, str) else msg.id[0]


def strings(msg):
    return list(msg.string) if isinstance(msg.string, (list, tuple)) else [msg.string]


def placeholders(text):
    return {m.group(0) for m in PYTHON_FORMAT.finditer(text) if m.group(0) != "%%"}


def split(all_pot, outdir):
    source = load(all_pot)
    found = catalogs()
    services = set(found) - {"portal"}
    for name in found:
        part = Catalog(project=source.project, version=source.version, copyright_holder=source.copyright_holder,
                       msgid_bugs_address=source.msgid_bugs_address, creation_date=source.creation_date,
                       header_comment=source.header_comment, fuzzy=source.fuzzy)
        for msg in source:
            here = [loc for loc in msg.locations if owner(loc[0], services) == name]
            if msg.id and (here or (name == "portal" and not msg.locations)):
                msg = copy.copy(msg)
                msg.locations = here
                part[msg.id] = msg
        with open(Path(outdir, f"{name}.pot"), "wb") as fh:
            write_po(fh, part, width=76, sort_output=True, include_lineno=False)


def check(outdir, locale, targets):
    found = catalogs()
    problems = []
    total = 0
    for name in targets or found:
        if name not in found:
            problems.append(f"{name}: no such catalog (services/{name}/translations does not exist)")
            continue
        folder = found[name]
        source = {key(m): m for m in load(Path(outdir, f"{name}.pot")) if m.id}
        total += len(source)
        pot = folder / "messages.pot"
        if pot.exists():
            committed = {key(m) for m in load(pot) if m.id}
            if committed != set(source):
                problems.append(f"{pot} is out of date ({len(set(source) - committed)} msgid(s) to add, "
                                f"{len(committed - set(source))} to drop): run scripts/i18n.sh {name}")
        elif name == "portal":
            problems.append(f"{pot} is missing: run scripts/i18n.sh portal")
        po_path = folder / locale / "LC_MESSAGES" / "messages.po"
        mo_path = po_path.with_suffix(".mo")
        if not po_path.exists():
            if source:
                problems.append(f"{po_path} is missing: run scripts/i18n.sh {name}")
            continue
        catalog = load(po_path, locale)
        if catalog.fuzzy:
            problems.append(f"{po_path}: the header is marked fuzzy (pybabel compile would skip the catalog)")
        entries = {key(m): m for m in catalog if m.id}
        for k in sorted(set(source) - set(entries), key=str):
            problems.append(f"{po_path}: missing msgid {show(source[k])!r} (run scripts/i18n.sh {name}, translate it)")
        for k in sorted(set(entries) - set(source), key=str):
            problems.append(f"{po_path}: msgid no longer in the sources {show(entries[k])!r} "
                            f"(run scripts/i18n.sh {name})")
        for k, msg in entries.items():
            forms = strings(msg)
            if msg.fuzzy:
                problems.append(f"{po_path}: fuzzy {show(msg)!r}")
                continue
            if not all(s and s.strip() for s in forms):
                problems.append(f"{po_path}: untranslated {show(msg)!r}")
                continue
            if msg.pluralizable and len(forms) != catalog.num_plurals:
                problems.append(f"{po_path}: {show(msg)!r} has {len(forms)} plural forms, not {catalog.num_plurals}")
            if k in source and source[k].python_format:  # a template string gets the flag from its %(name)s
                msg.flags.add("python-format")
            try:
                checkers.python_format(catalog, msg)
            except checkers.TranslationError as exc:
                problems.append(f"{po_path}: {show(msg)!r}: {exc}")
            # Babel's checker lets a translation drop a placeholder: each form must keep them all
            ids = [msg.id] if isinstance(msg.id, str) else list(msg.id)
            names = set().union(*(placeholders(i) for i in ids))
            for i, form in enumerate(forms):
                if placeholders(form) != names:
                    problems.append(f"{po_path}: {show(msg)!r}: form {i} has {sorted(placeholders(form))}, "
                                    f"expected {sorted(names)}")
                if msg.python_format and "%" in PYTHON_FORMAT.sub("", form):  # a lone % breaks the % formatting
                    problems.append(f"{po_path}: {show(msg)!r}: a lone % in form {i} (write %% for a percent sign)")
        # the committed .mo holds the translations of the .po (what pybabel compile makes of it)
        if not mo_path.exists():
            problems.append(f"{mo_path} is missing: run scripts/i18n.sh {name}")
        else:
            with open(mo_path, "rb") as fh:
                have = {key(m): tuple(strings(m)) for m in read_mo(fh) if m.id}
            want = {key(m): tuple(strings(m)) for m in catalog if m.id and not m.fuzzy and all(strings(m))}
            if have != want:
                problems.append(f"{mo_path} is not compiled from the current {po_path.name}: "
                                f"run scripts/i18n.sh {name}")
    for p in problems:
        print(p, file=sys.stderr)
    print(f"i18n check: {total} msgid(s) in {', '.join(targets or found)}: "
          f"{'OK' if not problems else f'{len(problems)} problem(s)'}", file=sys.stderr)
    return 1 if problems else 0


def seed(po_path, *others):
    """Fill the empty entries of a new catalog with the translations the other catalogs have for the same msgid
    (e.g. the portal's, which held a service's strings before the service had a catalog of its own)."""
    catalog = load(po_path, "fr")
    known = {}
    for other in others:
        if Path(other).exists():
            known.update({key(m): m.string for m in load(other) if m.id and not m.fuzzy and all(strings(m))})
    filled = 0
    for msg in catalog:
        if msg.id and not all(strings(msg)) and key(msg) in known:
            msg.string = known[key(msg)]
            filled += 1
    if filled:
        with open(po_path, "wb") as fh:
            write_po(fh, catalog, width=76, include_lineno=False)
        print(f"{po_path}: {filled} translation(s) taken from the other catalogs")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "seed":
        seed(*args)
    elif command == "catalogs":
        for name, folder in catalogs().items():
            print(name, folder)
    elif command == "split":
        split(*args)
    elif command == "check":
        sys.exit(check(args[0], args[1], args[2:]))
PY

# 1. Extract every msgid once (line numbers left out so that diffs stay readable), then one .pot per catalog.
#    --ignore-dirs: hidden folders only (Babel's default also skips "_" folders, such as services/_template).
pybabel -q extract -F babel.cfg "${KEYWORDS[@]}" -c TRANSLATORS: --add-location=file --sort-output \
  --ignore-dirs='.* __pycache__' \
  --project="Extranet des collectivités" --version="" --copyright-holder="Département" \
  -o "$TMP/all.pot" .
"$PYTHON" "$TMP/i18n.py" split "$TMP/all.pot" "$TMP"

if [[ $CHECK == 1 ]]; then
  exec "$PYTHON" "$TMP/i18n.py" check "$TMP" "$LOCALE" "$@"
fi

declare -A FOLDER=()
while read -r name folder; do FOLDER[$name]=$folder; done < <("$PYTHON" "$TMP/i18n.py" catalogs)
targets=("$@")
if [[ ${#targets[@]} == 0 ]]; then targets=("${!FOLDER[@]}"); fi

for name in "${targets[@]}"; do
  folder=${FOLDER[$name]:-}
  if [[ -z "$folder" ]]; then
    echo "$name: no such catalog (to create one for a service: mkdir services/$name/translations)" >&2
    exit 2
  fi
  pot=$folder/messages.pot
  po=$folder/$LOCALE/LC_MESSAGES/messages.po
  # 2. The .pot is replaced only when more than its creation date changed.
  if [[ -f "$pot" ]] && cmp -s <(grep -v '^"POT-Creation-Date:' "$pot") <(grep -v '^"POT-Creation-Date:' "$TMP/$name.pot"); then
    echo "$pot: unchanged"
  else
    cp "$TMP/$name.pot" "$pot"
    echo "$pot: updated"
  fi
  # 3. Update (or create) the .po: exact matches only; obsolete entries dropped (git keeps their history).
  if [[ ! -f "$po" ]]; then
    pybabel init -i "$pot" -d "$folder" -D messages -l "$LOCALE"
    others=()
    for other in "${FOLDER[@]}"; do
      if [[ "$other" != "$folder" ]]; then others+=("$other/$LOCALE/LC_MESSAGES/messages.po"); fi
    done
    # the translations the other catalogs already have (in git too: the .po of the portal before the split)
    "$PYTHON" "$TMP/i18n.py" seed "$po" "${others[@]}"
  fi
  cp "$po" "$TMP/before.po"
  pybabel -q update -i "$pot" -d "$folder" -D messages -l "$LOCALE" --no-fuzzy-matching --ignore-obsolete
  # pybabel rewrites the header dates at every run: keep the file as it was when no entry changed
  if cmp -s <(grep -v '^"POT-Creation-Date:\|^"PO-Revision-Date:' "$TMP/before.po") \
            <(grep -v '^"POT-Creation-Date:\|^"PO-Revision-Date:' "$po"); then
    cp "$TMP/before.po" "$po"
  fi
  # 4. Compile (an untranslated entry falls back to its English msgid until it is translated).
  pybabel compile -d "$folder" -D messages -l "$LOCALE" --statistics
done

# What is left to do.
if ! "$PYTHON" "$TMP/i18n.py" check "$TMP" "$LOCALE" "${targets[@]}" 2>"$TMP/check.txt"; then
  echo "Still to do:" >&2
  cat "$TMP/check.txt" >&2
  exit 1
fi
tail -n 1 "$TMP/check.txt" >&2
