#!/usr/bin/env python3
"""Checks the module rule (docs/architecture.md, "The rule, enforced"); scripts/test.sh runs it.

A feature module (Package.swift's `featureModules`) may import, and depend on in Package.swift, only:
Kernel, contract targets (any target whose name ends in `Contract`), its own data targets (a target named
`<Feature>…Data`, e.g. RoundingZipData for Rounding) and the system modules in SYSTEM_MODULES. A feature's
data target may import only system modules and depend on nothing.

A feature module's SQL may name only its own tables. Every module's tables are collected from the SQL in
its Swift sources (`CREATE TABLE [IF NOT EXISTS] name`, `ALTER TABLE … RENAME TO name`) across all of
Modules/, features and platform modules alike. A table name counts as named in SQL when it appears, as a
whole word, in a string literal that contains an upper-case SQL keyword (the project writes SQL that way)
or that is exactly the table name; comments never count.

Prints one `path:line: message` per violation and a closing line; exits 1 when there are violations.
Standard library only. Usage: scripts/check-architecture.py [--root DIR]
"""
import argparse
import pathlib
import re
import sys

SYSTEM_MODULES = frozenset({
    "Swift", "_Concurrency", "_StringProcessing", "RegexBuilder", "Observation",
    "Foundation", "FoundationEssentials", "FoundationInternationalization", "FoundationNetworking",
    "Synchronization", "Dispatch", "Glibc", "Musl", "Darwin",
})
KERNEL = "Kernel"
CONTRACT_SUFFIX = "Contract"
DATA_SUFFIX = "Data"

# Upper-case SQL keywords that mark a string literal as SQL (whole words).
SQL_KEYWORDS = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|JOIN|INTO|TABLE|TRUNCATE|RETURNING|WHERE|VALUES|WITH|MERGE|"
    r"COPY|LOCK|ALTER|DROP|REFERENCES|USING)\b")
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
# An interpolation `\(name)` or `\(unsafeRaw: name)` inside a literal is kept as \x01name\x02 so a
# table name held in a constant (MigrationRunner's `CREATE TABLE IF NOT EXISTS \(tableName)`) resolves.
TABLE_NAME = r"(?:\w+\.)?(\x01" + IDENTIFIER + r"\x02|" + IDENTIFIER + r")"
CREATE_TABLE = re.compile(
    r"\bCREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    + TABLE_NAME, re.I)
RENAME_TABLE = re.compile(
    r"\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?" + TABLE_NAME + r"\s+RENAME\s+TO\s+" + TABLE_NAME, re.I)
IMPORT = re.compile(
    r"(?:^|;)[ \t]*(?:@\w+(?:\([^)\n]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private|open)\s+)?"
    r"import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func|actor)\s+)?(" + IDENTIFIER + r")",
    re.M)


def blanked(text):
    """`text` with every character but newlines replaced by a space (offsets and lines unchanged)."""
    return "\n".join(" " * len(line) for line in text.split("\n"))


class SwiftSource:
    """A Swift file split into code (comments and string literals blanked, lines kept) and its string
    literals (text with each interpolation replaced by a marker, and the line each starts on)."""

    def __init__(self, text):
        self.text = text
        self.code = []  # comments and literals blanked
        self.uncommented = []  # comments blanked, literals kept
        self.literals = []  # (line, text)
        self.pos = 0
        self.line = 1
        self._code(until_close_paren=False)
        self.code = "".join(self.code)
        self.uncommented = "".join(self.uncommented)

    # -- helpers -------------------------------------------------------------------------------
    def _blank(self, chunk):
        blank = blanked(chunk)
        self.code.append(blank)
        self.uncommented.append(blank)
        self.line += chunk.count("\n")

    def _keep(self, chunk):
        self.code.append(chunk)
        self.uncommented.append(chunk)
        self.line += chunk.count("\n")

    # -- code ----------------------------------------------------------------------------------
    _code_token = re.compile(r'//|/\*|#*"|\(|\)')

    def _code(self, until_close_paren):
        text = self.text
        depth = 0
        while self.pos < len(text):
            match = self._code_token.search(text, self.pos)
            if not match:
                self._keep(text[self.pos:])
                self.pos = len(text)
                return
            self._keep(text[self.pos:match.start()])
            self.pos = match.start()
            token = match.group()
            if token == "//":
                end = text.find("\n", self.pos)
                end = len(text) if end < 0 else end
                self._blank(text[self.pos:end])
                self.pos = end
            elif token == "/*":
                self._block_comment()
            elif token == "(":
                depth += 1
                self._keep("(")
                self.pos += 1
            elif token == ")":
                if until_close_paren and depth == 0:
                    self.pos += 1  # the interpolation's closing parenthesis
                    return
                depth -= 1
                self._keep(")")
                self.pos += 1
            else:
                self._string(hashes=len(token) - 1)

    def _block_comment(self):
        text = self.text
        depth = 0
        start = self.pos
        while self.pos < len(text):
            if text.startswith("/*", self.pos):
                depth += 1
                self.pos += 2
            elif text.startswith("*/", self.pos):
                depth -= 1
                self.pos += 2
                if depth == 0:
                    break
            else:
                self.pos += 1
        self._blank(text[start:self.pos])

    # -- string literals -----------------------------------------------------------------------
    def _string(self, hashes):
        text = self.text
        start = self.pos
        start_line = self.line
        self.pos += hashes
        multiline = text.startswith('"""', self.pos)
        self.pos += 3 if multiline else 1
        terminator = ('"""' if multiline else '"') + "#" * hashes
        escape = "\\" + "#" * hashes
        parts = []
        segment_start = self.pos
        while self.pos < len(text):
            next_end = text.find(terminator, self.pos)
            end_length = len(terminator)
            next_escape = text.find(escape, self.pos)
            if not multiline:
                newline = text.find("\n", self.pos)
                if newline >= 0 and (next_end < 0 or newline < next_end) and (next_escape < 0 or newline < next_escape):
                    next_end, end_length = newline, 0  # unterminated single-line literal: ends with its line
            if next_end < 0:
                next_end, end_length = len(text), 0
            if 0 <= next_escape < next_end:
                parts.append(text[segment_start:next_escape])
                self.pos = next_escape + len(escape)
                if text.startswith("(", self.pos):
                    parts.append(self._interpolation(start))
                else:
                    parts.append(text[self.pos:self.pos + 1])
                    self.pos += 1
                segment_start = self.pos
                continue
            parts.append(text[segment_start:next_end])
            self.pos = next_end + end_length
            break
        self.literals.append((start_line, "".join(parts)))
        # Blank the whole literal in the code view (the interpolations' own literals are recorded
        # separately); keep it in the uncommented view.
        consumed = text[start:self.pos]
        self.code.append(blanked(consumed))
        self.uncommented.append(consumed)
        self.line = start_line + consumed.count("\n")

    def _interpolation(self, literal_start):
        """Lexes `( … )` of an interpolation as code; returns its marker for the literal text."""
        text = self.text
        open_at = self.pos
        self.pos += 1
        saved = self.code, self.uncommented, self.line
        self.code, self.uncommented = [], []
        self.line += text.count("\n", literal_start, open_at)  # for the lines of literals inside it
        self._code(until_close_paren=True)
        self.code, self.uncommented, self.line = saved
        inner = text[open_at + 1:self.pos - 1]
        simple = re.fullmatch(r"\s*(?:unsafeRaw:\s*)?(" + IDENTIFIER + r")\s*", inner)
        marker = "\x01" + simple.group(1) + "\x02" if simple else "\x00"
        return marker + "\n" * inner.count("\n")

    def imports(self):
        """(line, module) of every import declaration in the code (not in comments or literals)."""
        found = []
        for keyword in re.finditer(r"\bimport\b", self.code):
            start = self.code.rfind("\n", 0, keyword.start()) + 1
            end = self.code.find("\n", keyword.end())
            end = len(self.code) if end < 0 else end
            for match in IMPORT.finditer(self.code, start, end):
                found.append((line_of(self.code, start), match.group(1)))
        return sorted(set(found))

    def literal_matches(self, pattern):
        """(line, match) for every match of `pattern` in every literal."""
        for line, literal in self.literals:
            for match in pattern.finditer(literal):
                yield line + literal.count("\n", 0, match.start()), match

    def constant(self, name):
        """The value of `let/var name = "identifier"` in this file, if any."""
        match = re.search(r"\b(?:let|var)\s+" + re.escape(name) + r"\s*(?::\s*String\s*)?=\s*\"(" + IDENTIFIER + r")\"",
                          self.text)
        return match.group(1) if match else None


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def matching_close(text, open_index):
    """Index of the bracket closing text[open_index] ('(' or '['), skipping simple string literals."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = [pairs[text[open_index]]]
    index = open_index + 1
    while index < len(text) and stack:
        char = text[index]
        if char == '"':
            index += 1
            while index < len(text) and text[index] != '"':
                index += 2 if text[index] == "\\" else 1
        elif char in pairs:
            stack.append(pairs[char])
        elif char == stack[-1]:
            stack.pop()
        index += 1
    return index - 1


class Package:
    """What the check needs from Package.swift: the feature modules and each one's dependencies."""

    def __init__(self, path):
        self.path = path
        # Comments blanked, string literals kept (offsets and lines unchanged).
        self.text = SwiftSource(path.read_text(encoding="utf-8")).uncommented
        self.errors = []
        self.features = self._features()
        self.dependencies = {feature: [] for feature in self.features}  # feature -> [(line, name)]
        self.target_dependencies = {}  # explicitly declared target -> [(line, name)]
        self._explicit_targets()
        self._feature_loop()

    def _literals(self, start, end):
        """(line, name) of every "Identifier" string literal in text[start:end]."""
        return [(line_of(self.text, start + match.start()), match.group(1))
                for match in re.finditer(r'"(' + IDENTIFIER + r')"', self.text[start:end])]

    def _features(self):
        match = re.search(r"\blet\s+featureModules\b[^=]*=\s*\[", self.text)
        if not match:
            self.errors.append((1, "cannot find `let featureModules = [...]`"))
            return []
        end = matching_close(self.text, match.end() - 1)
        return [name for _, name in self._literals(match.end(), end)]

    def _dependencies_argument(self, call_open, call_close):
        """(start, end) of the `dependencies:` argument inside a `.target(…)` call, or None."""
        match = re.compile(r"\bdependencies\s*:").search(self.text, call_open, call_close)
        if not match:
            return None
        index = match.end()
        depth = 0
        while index < call_close:
            char = self.text[index]
            if char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
            elif char == '"':
                index = self.text.index('"', index + 1)
            elif char == "," and depth == 0:
                break
            index += 1
        return match.end(), index

    def _explicit_targets(self):
        for match in re.finditer(r'\.(?:target|executableTarget)\(\s*name:\s*"(' + IDENTIFIER + r')"', self.text):
            close = matching_close(self.text, self.text.index("(", match.start()))
            argument = self._dependencies_argument(match.start(), close)
            names = self._literals(*argument) if argument else []
            self.target_dependencies[match.group(1)] = names
            if match.group(1) in self.dependencies:
                self.dependencies[match.group(1)] += names

    def _feature_loop(self):
        found = set(name for name in self.features if name in self.target_dependencies)
        for loop in re.finditer(r"\bfor\s+(" + IDENTIFIER + r")\s+in\s+featureModules\s*\{", self.text):
            variable = loop.group(1)
            body_end = matching_close(self.text, loop.end() - 1)
            for call in re.finditer(r"\.target\(\s*name:\s*" + variable + r"\b", self.text[:body_end]):
                if call.start() < loop.end():
                    continue
                close = matching_close(self.text, self.text.index("(", call.start()))
                argument = self._dependencies_argument(call.start(), close)
                if not argument:
                    continue
                start, end = argument
                common = self._literals(start, end)
                per_feature = {name: [] for name in self.features}
                lookups = re.compile(r"(" + IDENTIFIER + r")\s*\[\s*" + variable + r"\s*(?:,\s*default\s*:\s*\[\s*\])?\s*\]")
                expression = self.text[start:end]
                for lookup in lookups.finditer(expression):
                    self._dictionary(lookup.group(1), per_feature)
                # Anything else (a function call, another variable) would hide dependencies: fail loudly.
                rest = re.sub(r'"[^"]*"', " ", lookups.sub(" ", expression))
                unknown = set(re.findall(IDENTIFIER, rest)) - {"target", "byName", "name", variable}
                if unknown:
                    self.errors.append((line_of(self.text, start), "cannot read the feature targets' dependencies "
                                        f"(unexpected {', '.join(sorted(unknown))}): list them as string literals "
                                        "or in a [String: [Target.Dependency]] dictionary indexed by the feature"))
                for name in self.features:
                    self.dependencies[name] += common + per_feature[name]
                    found.add(name)
        for name in self.features:
            if name not in found:
                self.errors.append((1, f"cannot find the target of feature module {name} (neither a "
                                       f'`.target(name: "{name}", …)` nor one built in a `for … in featureModules` loop)'))

    def _dictionary(self, name, per_feature):
        match = re.search(r"\b(?:let|var)\s+" + re.escape(name) + r"\b[^=\n]*=\s*\[", self.text)
        if not match:
            self.errors.append((1, f"cannot find the dictionary `{name}` used for feature dependencies"))
            return
        end = matching_close(self.text, match.end() - 1)
        for entry in re.finditer(r'"(' + IDENTIFIER + r')"\s*:\s*\[', self.text[match.end():end]):
            value_open = match.end() + entry.end() - 1
            value_close = matching_close(self.text, value_open)
            if entry.group(1) in per_feature:
                per_feature[entry.group(1)] += self._literals(value_open, value_close)


def is_data_target(feature, name):
    return name != feature and name.startswith(feature) and name.endswith(DATA_SUFFIX)


def allowed_for_feature(feature, name):
    return (name == KERNEL or name.endswith(CONTRACT_SUFFIX) or name in SYSTEM_MODULES
            or is_data_target(feature, name))


RULE = "a feature module may import and depend on only Kernel, …Contract targets, its own data targets and system modules"


def check(root):
    root = pathlib.Path(root)
    modules_dir = root / "Modules"
    violations = []  # (path, line, message)

    package = Package(root / "Package.swift")
    for line, message in package.errors:
        violations.append(("Package.swift", line, message))
    features = package.features

    sources = {}
    for path in sorted(modules_dir.rglob("*.swift")):
        sources[path] = SwiftSource(path.read_text(encoding="utf-8", errors="replace"))

    def relative(path):
        return path.relative_to(root).as_posix()

    def module_of(path):
        return path.relative_to(modules_dir).parts[0]

    # (1) imports and Package.swift dependencies.
    for feature in features:
        for line, name in package.dependencies.get(feature, []):
            if not allowed_for_feature(feature, name):
                violations.append(("Package.swift", line, f"{feature} depends on {name} ({RULE})"))
    data_targets = sorted({module_of(path) for path in sources
                           for feature in features if is_data_target(feature, module_of(path))})
    for target in data_targets:
        for line, name in package.target_dependencies.get(target, []):
            if name not in SYSTEM_MODULES:
                violations.append(("Package.swift", line,
                                   f"data target {target} depends on {name} (a data target depends on nothing)"))
    for path, source in sources.items():
        module = module_of(path)
        for line, name in source.imports():
            if module in features and not allowed_for_feature(module, name):
                violations.append((relative(path), line, f"{module} imports {name} ({RULE})"))
            elif module in data_targets and name not in SYSTEM_MODULES:
                violations.append((relative(path), line,
                                   f"data target {module} imports {name} (a data target imports only system modules)"))

    # (2) tables: owners from every module's migration SQL, then each feature's SQL.
    owners = {}  # table -> set of modules
    for path, source in sources.items():
        def resolve(name):
            if name.startswith("\x01"):
                return source.constant(name.strip("\x01\x02"))
            return name
        for _, match in source.literal_matches(CREATE_TABLE):
            table = resolve(match.group(1))
            if table:
                owners.setdefault(table.lower(), set()).add(module_of(path))
        for _, match in source.literal_matches(RENAME_TABLE):
            table = resolve(match.group(2))
            if table:
                owners.setdefault(table.lower(), set()).add(module_of(path))

    for path, source in sources.items():
        module = module_of(path)
        if module not in features:
            continue
        foreign = sorted(table for table, modules in owners.items() if module not in modules)
        if not foreign:
            continue
        pattern = re.compile(r"(?<![A-Za-z0-9_$])(" + "|".join(map(re.escape, foreign)) + r")(?![A-Za-z0-9_])", re.I)
        for line, literal in source.literals:
            if not (SQL_KEYWORDS.search(literal) or literal.strip().lower() in owners):
                continue
            for match in pattern.finditer(literal):
                table = match.group(1).lower()
                owner = ", ".join(sorted(owners[table]))
                violations.append((relative(path), line + literal.count("\n", 0, match.start()),
                                   f"{module} names table {table}, owned by {owner} (a feature module's SQL may "
                                   "name only its own tables)"))

    violations = sorted(set(violations), key=lambda item: (item[0], item[1], item[2]))
    summary = {"features": len(features), "files": len(sources), "tables": len(owners)}
    return violations, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parent.parent),
                        help="repository root (default: this script's repository)")
    args = parser.parse_args()
    violations, summary = check(args.root)
    for path, line, message in violations:
        print(f"{path}:{line}: {message}")
    scope = f"{summary['features']} feature modules, {summary['files']} Swift files, {summary['tables']} tables"
    if violations:
        print(f"architecture check: FAILED, {len(violations)} violation(s) ({scope})")
        return 1
    print(f"architecture check: passed ({scope})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
