// Package security is the security agent: it scans source files handed to
// it in a security_scan task for hard-coded secrets and dangerous calls, and
// scores the result.
//
// # Input and output
//
// The task parameters are actors.FilesParams:
//
//	{"files": [{"path": "app.py", "content": "..."}]}
//
// The output is a Report:
//
//	{
//	  "findings": [{"file": "app.py", "line": 3, "rule": "py.eval",
//	                "severity": "high", "message": "..."}],
//	  "summary": {"files_scanned": 1, "findings": 1,
//	              "by_severity": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0}},
//	  "score": 90
//	}
//
// Findings are sorted by file, then line, then rule. At most MaxFindings
// (1,000) are listed; beyond that the list is cut, "truncated": true is added
// to the summary, and the summary counts and the score still cover every
// finding. A message never holds a secret: it shows at most its first four
// characters (and never more than a quarter of it) followed by "…".
//
// # Score
//
// The score starts at 100 and each finding takes off a penalty by severity:
// critical 25, high 10, medium 5, low 2, info 0. It is floored at 0. The
// penalties add up over all files rather than being averaged, because one
// leaked key is as bad in a large change as in a small one.
//
// # Rules
//
// Rule ids are stable; each has a single severity.
//
//	rule                        severity  language  what it finds
//	secret.aws-access-key       critical  any       AKIA/ASIA followed by 16 upper-case letters or digits
//	secret.aws-secret-key       critical  any       aws_secret_access_key (and spellings) assigned 40 base64 characters
//	secret.private-key          critical  any       a "-----BEGIN ... PRIVATE KEY-----" line (RSA, EC, OPENSSH, PGP, ...)
//	secret.github-token         critical  any       ghp_, gho_, ghu_, ghs_, ghr_ tokens and github_pat_ fine-grained tokens
//	secret.slack-token          critical  any       xoxb-, xoxa-, xoxp-, xoxr-, xoxs- tokens with their numeric ids
//	secret.stripe-live-key      critical  any       sk_live_ and rk_live_ keys
//	secret.google-api-key       high      any       AIza followed by 35 characters
//	secret.jwt                  high      any       eyJ….eyJ….… tokens in a literal, an assignment or a Bearer header
//	secret.hardcoded-credential high      any       a password/secret/api key/token name assigned a string literal
//	py.eval                     high      python    eval(...)
//	py.exec                     high      python    exec(...)
//	py.os-system                high      python    os.system(...), os.popen(...)
//	py.subprocess-shell         high      python    subprocess.run/call/check_call/check_output/Popen with shell=True; getoutput, getstatusoutput
//	py.pickle-load              medium    python    pickle.load(...), pickle.loads(...) (also cPickle, _pickle)
//	py.yaml-load                medium    python    yaml.load/load_all without a SafeLoader or BaseLoader; yaml.unsafe_load
//	js.eval                     high      js, ts    eval(...), window.eval(...), globalThis.eval(...)
//	js.new-function             high      js, ts    new Function(...), Function(...)
//	js.child-process-exec       high      js, ts    child_process exec/execSync, however imported
//	js.inner-html               medium    js, ts    .innerHTML or .outerHTML assigned (= or +=) anything but a constant string
//	js.document-write           medium    js, ts    document.write(...), document.writeln(...)
//	go.exec-shell               high      go        exec.Command/CommandContext("sh"|"bash"|"/bin/sh"|"cmd"|..., "-c", ...)
//	go.sql-concat               high      go        a query built by + or fmt.Sprintf passed to Query, QueryRow, Exec, Prepare (and their Context forms)
//	go.tls-skip-verify          high      go        InsecureSkipVerify: true in a literal, or assigned true
//	go.weak-hash                low       go        an import of crypto/md5 or crypto/sha1
//	parse-error                 info      go        the file does not parse; its message is "could not parse: <error>"
//
// # How the rules read code
//
// Secret rules are regular expressions applied line by line to every file,
// whatever its language, comments included: a key pasted into a comment has
// leaked all the same. Each rule reports a line at most once, and the generic
// secret.hardcoded-credential rule only looks at lines no specific rule
// matched.
//
// secret.hardcoded-credential looks for a name containing password, passwd,
// passphrase, secret, api key, access/auth/api/bearer/refresh token, private
// key or credential, assigned a string literal: password = "…",
// password := "…", "password": "…", password="…" as a keyword argument,
// data["password"] = "…", password: str = "…". In configuration files
// (.env, .env.*, *.env, .envrc, .ini, .cfg, .conf, .properties, .toml,
// .yaml, .yml) unquoted values count too: PASSWORD=hunter2,
// password: hunter2. A value read at run time (os.getenv("PASSWORD"),
// process.env.PASSWORD, os.Getenv) is not a literal and is never reported.
// Names ending in a word that describes the credential rather than holding
// it (PASSWORD_MIN_LENGTH, passwordField, secret_name, SECRET_ARN,
// password_reset_url, ...) are skipped. Placeholders are skipped too; a
// value is a placeholder when it is
//
//   - empty, or contains whitespace (a label, prompt or message);
//   - a reference: starts with '$' ($VAR, ${VAR}), or contains '{'
//     (templates, f-strings) or "%(";
//   - wrapped in angle brackets (<your-password>);
//   - only masking characters: x X * . # - _ • … (xxx, ***);
//   - a YAML tag, anchor, alias or block marker (starts with ! & * | >);
//   - a dummy word (password, secret, example, placeholder, dummy, todo,
//     tbd, fixme, null, none, nil, undefined, redacted, hidden, masked,
//     test, true, false), or contains changeme, example, placeholder,
//     redacted or dummy, or starts with "your";
//   - or contains a credential word itself (passw, secret, token,
//     credential), which makes it a field name or an id, as in
//     PASSWORD_FIELD = "password".
//
// AWS keys containing EXAMPLE (the AWS documentation's own) are skipped.
//
// Python and JavaScript/TypeScript rules work on calls found in the text
// after comments and the contents of string literals are blanked, so
// "eval(" in a comment or a string is not a call. A callee is read as a whole
// dotted name and resolved through the file's imports: ast.literal_eval and
// model.eval() are not eval; after "import subprocess as sp", sp.run is
// subprocess.run; after "from os import system", system() is os.system;
// const { exec: run } = require('child_process') makes run() a
// child_process exec. A multi-line call's arguments are read up to its
// closing parenthesis, so shell=True on a later line counts. Every pass over
// a file is linear in its size, so a 10 MB input takes seconds at worst.
//
// Go rules walk the syntax tree from go/parser. Imports resolve the package
// names, renamed and dot imports included. go.sql-concat follows string
// variables within a function: a local assigned (or appended to with +=) a
// concatenation or fmt.Sprintf with a non-constant part is "built", and so
// is a variable assigned a built one; concatenating literals and declared
// constants is not. go.exec-shell recognises the shell by the base name of a
// literal first argument and the script flag as -c, a cluster of short flags
// holding c (-ec), /c or -Command.
//
// # Known gaps
//
// Without type information, any method named Query, Exec, ... is taken to
// be a database call, and a query built in another function, with
// strings.Builder or strings.Join is not followed; variables are tracked by
// name, not scope, so shadowing can confuse go.sql-concat. Code inside Python
// f-string replacement fields is blanked with the string and not scanned.
// The JavaScript masker guesses regular expression literals from the token
// before '/', and treats an apostrophe in JSX text as opening a string to
// the end of its line. child_process imports are looked for within 1 KiB
// before a mention of child_process; spawn and execFile with shell: true
// are not reported. Secret values are recognised by shape and name, not by
// entropy, so a credential assigned to an innocuously named variable is
// missed.
package security
