package security

import "testing"

func TestJavaScriptRules(t *testing.T) {
	t.Parallel()
	runScanCases(t, []scanCase{
		// eval and the Function constructor.
		{name: "eval", path: "a.js", content: lines(`const v = eval(input);`), want: []hit{{1, ruleJSEval}}},
		{name: "window.eval", path: "a.js", content: lines(`window.eval(code)`, `globalThis.eval(code)`), want: []hit{{1, ruleJSEval}, {2, ruleJSEval}}},
		{name: "eval in comments and strings", path: "a.js", content: lines(`// eval(x)`, `/* eval(x)`, `   new Function(y) */`, `const s = "eval(x)" + 'document.write(y)';`, "const t = `eval(${'x'})`;"), want: nil},
		{name: "eval inside a template expression", path: "a.js", content: lines("const t = `value: ${eval(x)}`;"), want: []hit{{1, ruleJSEval}}},
		{name: "nested templates", path: "a.js", content: lines("const t = `a ${ `b ${ c } eval(d)` } e ${ f({g: 1}) } eval(h)`;", `eval(i)`), want: []hit{{2, ruleJSEval}}},
		{name: "eval methods and names", path: "a.js", content: lines(`await page.$eval("#id", el => el.value);`, `obj.eval(x);`, `x?.eval(y);`, `evaluate(x);`, `function eval(x) { return x; }`), want: nil},
		{name: "a regex literal with a quote", path: "a.js", content: lines(`const re = /"/g; const n = a / b / c;`, `eval(x)`), want: []hit{{2, ruleJSEval}}},
		{name: "new Function", path: "a.js", content: lines(`const f = new Function("a", "return a");`, `const g = Function("return this")();`), want: []hit{{1, ruleJSNewFunction}, {2, ruleJSNewFunction}}},
		{name: "names containing Function", path: "a.js", content: lines(`new FunctionRegistry();`, `myFunction(x);`, `x instanceof Function;`), want: nil},

		// child_process.
		{name: "require then exec", path: "a.js", content: lines(`const cp = require('child_process');`, `cp.exec("ls " + dir, cb);`), want: []hit{{2, ruleJSChildProcess}}},
		{name: "destructured exec", path: "a.js", content: lines(`const { exec } = require("child_process");`, `exec(cmd);`), want: []hit{{2, ruleJSChildProcess}}},
		{name: "destructured and renamed execSync with node: scheme", path: "a.js", content: lines(`const { spawn, execSync: run } = require('node:child_process');`, `run(cmd);`, `spawn("ls", ["-l"]);`), want: []hit{{2, ruleJSChildProcess}}},
		{name: "named import renamed", path: "a.ts", content: lines(`import { exec as sh } from "child_process";`, `sh(cmd);`), want: []hit{{2, ruleJSChildProcess}}},
		{name: "namespace import", path: "a.ts", content: lines(`import * as cp from 'child_process';`, `cp.execSync(cmd);`), want: []hit{{2, ruleJSChildProcess}}},
		{name: "default import", path: "a.mjs", content: lines(`import proc from 'node:child_process';`, `proc.exec(cmd);`), want: []hit{{2, ruleJSChildProcess}}},
		{name: "inline require", path: "a.js", content: lines(`require('child_process').exec(cmd);`, `require("child_process")`, `  .execSync(cmd);`), want: []hit{{1, ruleJSChildProcess}, {2, ruleJSChildProcess}}},
		{name: "child_process by its own name", path: "a.js", content: lines(`child_process.exec(cmd);`), want: []hit{{1, ruleJSChildProcess}}},
		{name: "exec that is not child_process", path: "a.js", content: lines(`const { execFile } = require('child_process');`, `execFile("ls", ["-l"]);`, `/a+/.exec(s);`, `regex.exec(str);`, `db.exec(sql);`, `exec(x);`, `const cp = require('cp-file');`, `cp.exec(y);`), want: nil},
		{name: "child_process named only in strings", path: "a.js", content: lines(`const doc = "const { exec } = require('child_process'); require('child_process').exec(x)";`, `exec(cmd);`), want: nil},
		{name: "named import over several lines", path: "a.ts", content: lines(`import {`, `  spawn,`, `  exec`, `    as sh,`, `} from "child_process";`, `sh(cmd);`), want: []hit{{6, ruleJSChildProcess}}},

		// Markup sinks.
		{name: "innerHTML assignment", path: "a.js", content: lines(`el.innerHTML = userInput;`, `el.innerHTML += "<li>" + name + "</li>";`, "el.innerHTML = `<b>${name}</b>`;", `el.outerHTML = html;`), want: []hit{{1, ruleJSInnerHTML}, {2, ruleJSInnerHTML}, {3, ruleJSInnerHTML}, {4, ruleJSInnerHTML}}},
		{name: "innerHTML constant, read or compared", path: "a.js", content: lines(`el.innerHTML = "";`, `el.innerHTML = '<br>'`, "el.innerHTML = `<hr>`;", `const h = el.innerHTML;`, `if (el.innerHTML === prev) {}`, `el.textContent = userInput;`), want: nil},
		{name: "document.write", path: "a.js", content: lines(`document.write(html);`, `document.writeln("<p>" + x);`, `window.document.write(y);`), want: []hit{{1, ruleJSDocumentWrite}, {2, ruleJSDocumentWrite}, {3, ruleJSDocumentWrite}}},
		{name: "other writes", path: "a.js", content: lines(`stream.write(x);`, `doc.write(y);`, `fs.writeFileSync(p, d);`), want: nil},
		{name: "typescript file", path: "a.tsx", content: lines(`const f = (s: string): unknown => eval(s);`, `ref.current!.innerHTML = props.html;`), want: []hit{{1, ruleJSEval}, {2, ruleJSInnerHTML}}},
		{name: "rules only apply to js and ts", path: "a.py", content: lines(`document.write(x)`), want: nil},
	})
}

func TestMaskJS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, src, code string }{
		{"line comment", "a // b\nc", "a     \nc"},
		{"block comment", "a /* b\nc */ d", "a     \n     d"},
		{"strings", `x = "a'b" + 'c"d'`, `x = "   " + '   '`},
		{"escaped quote", `x = "a\"b" + c`, `x = "    " + c`},
		{"template with expression", "x = `a${b}c`", "x = ` ${b} `"},
		{"regex literal", `x = /a"b/.test(y)`, `x = /   /.test(y)`},
		{"division", `x = a / b / c`, `x = a / b / c`},
		{"unterminated string stops at the line", "x = \"abc\ny()", "x = \"   \ny()"},
	} {
		code, _ := maskJS(tc.src)
		if code != tc.code {
			t.Errorf("%s: maskJS(%q) = %q, want %q", tc.name, tc.src, code, tc.code)
		}
	}
}
