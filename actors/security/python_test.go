package security

import "testing"

func TestPythonRules(t *testing.T) {
	t.Parallel()
	runScanCases(t, []scanCase{
		// eval and exec.
		{name: "eval", path: "a.py", content: lines(`x = eval(user_input)`), want: []hit{{1, rulePyEval}}},
		{name: "eval on a later line of a call", path: "a.py", content: lines(`result = compute(`, `    eval(expr),`, `)`), want: []hit{{2, rulePyEval}}},
		{name: "builtins.eval", path: "a.py", content: lines(`import builtins`, `builtins.eval(s)`), want: []hit{{2, rulePyEval}}},
		{name: "literal_eval is safe", path: "a.py", content: lines(`import ast`, `x = ast.literal_eval(s)`, `y = literal_eval(s)`), want: nil},
		{name: "eval methods are not eval", path: "a.py", content: lines(`model.eval()`, `torch.load(path).eval()`, `self.model.eval()`, `net.to(device) .eval()`), want: nil},
		{name: "eval in a comment", path: "a.py", content: lines(`# eval(x) would be unsafe here`, `x = 1  # or eval(y)`), want: nil},
		{name: "eval in strings", path: "a.py", content: lines(`print("eval(x)")`, `s = 'exec(y)'`, `doc = """`, `Never call eval(x) or exec(y).`, `"""`, `r = r'os.system(\'x\')'`), want: nil},
		{name: "a method named eval", path: "a.py", content: lines(`class M:`, `    def eval(self, x):`, `        return x`, `    async def exec(self):`, `        pass`), want: nil},
		{name: "exec", path: "a.py", content: lines(`exec(compile(src, "f", "exec"))`), want: []hit{{1, rulePyExec}}},
		{name: "execute is not exec", path: "a.py", content: lines(`cursor.execute(q)`, `exec_command(x)`, `executor.exec(x)`), want: nil},

		// Shell commands.
		{name: "os.system", path: "a.py", content: lines(`import os`, `os.system("rm -rf " + path)`), want: []hit{{2, rulePyOSSystem}}},
		{name: "os.popen", path: "a.py", content: lines(`import os`, `out = os.popen(cmd).read()`), want: []hit{{2, rulePyOSSystem}}},
		{name: "os renamed", path: "a.py", content: lines(`import os as o`, `o.system(cmd)`), want: []hit{{2, rulePyOSSystem}}},
		{name: "system imported from os", path: "a.py", content: lines(`from os import path, system as run`, `run(cmd)`), want: []hit{{2, rulePyOSSystem}}},
		{name: "os.path is not os.system", path: "a.py", content: lines(`import os`, `os.path.join(a, b)`, `subsystem(x)`, `platform.system()`), want: nil},
		{name: "subprocess shell=True", path: "a.py", content: lines(`import subprocess`, `subprocess.run(cmd, shell=True, check=True)`), want: []hit{{2, rulePySubprocessShell}}},
		{name: "subprocess shell=True on a later line", path: "a.py", content: lines(`import subprocess`, `proc = subprocess.Popen(`, `    cmd,`, `    stdout=subprocess.PIPE,`, `    shell=True,`, `)`), want: []hit{{2, rulePySubprocessShell}}},
		{name: "subprocess renamed", path: "a.py", content: lines(`import subprocess as sp`, `sp.call(c, shell = True)`), want: []hit{{2, rulePySubprocessShell}}},
		{name: "subprocess function imported and renamed", path: "a.py", content: lines(`from subprocess import (`, `    PIPE,`, `    check_output as co,`, `)`, `co(c, shell=True)`), want: []hit{{5, rulePySubprocessShell}}},
		{name: "subprocess getoutput", path: "a.py", content: lines(`import subprocess`, `subprocess.getoutput("ls " + d)`), want: []hit{{2, rulePySubprocessShell}}},
		{name: "subprocess without a shell", path: "a.py", content: lines(`import subprocess`, `subprocess.run(["ls", d])`, `subprocess.run(["ls"], shell=False)`, `subprocess.check_call(args, env={"shell": "True"})`, `subprocess.run(["ls"]); configure(shell=True)`, `subprocess.run(["ls"])  # shell=True was removed`), want: nil},

		// Deserialisation.
		{name: "pickle loads", path: "a.py", content: lines(`import pickle`, `obj = pickle.loads(data)`, `obj = pickle.load(f)`), want: []hit{{2, rulePyPickle}, {3, rulePyPickle}}},
		{name: "cPickle as pickle", path: "a.py", content: lines(`import cPickle as pickle`, `pickle.loads(d)`), want: []hit{{2, rulePyPickle}}},
		{name: "loads imported from pickle", path: "a.py", content: lines(`from pickle import loads`, `loads(d)`), want: []hit{{2, rulePyPickle}}},
		{name: "pickle dumps and json loads", path: "a.py", content: lines(`import pickle, json`, `pickle.dumps(x)`, `json.loads(d)`, `from json import loads`, `loads(d)`), want: nil},
		{name: "yaml load without loader", path: "a.py", content: lines(`import yaml`, `cfg = yaml.load(f)`), want: []hit{{2, rulePyYAMLLoad}}},
		{name: "yaml load with FullLoader", path: "a.py", content: lines(`import yaml`, `cfg = yaml.load(f, Loader=yaml.FullLoader)`), want: []hit{{2, rulePyYAMLLoad}}},
		{name: "yaml unsafe_load", path: "a.py", content: lines(`import yaml`, `cfg = yaml.unsafe_load(f)`), want: []hit{{2, rulePyYAMLLoad}}},
		{name: "yaml load_all imported", path: "a.py", content: lines(`from yaml import load_all`, `docs = load_all(f)`), want: []hit{{2, rulePyYAMLLoad}}},
		{name: "yaml safe loading", path: "a.py", content: lines(
			`import yaml`,
			`from yaml import SafeLoader`,
			`a = yaml.load(f, Loader=yaml.SafeLoader)`,
			`b = yaml.load(f, Loader=SafeLoader)`,
			`c = yaml.load(f, yaml.CSafeLoader)`,
			`d = yaml.safe_load(f)`,
			`e = yaml.load(`,
			`    f,`,
			`    Loader=yaml.BaseLoader,`,
			`)`,
		), want: nil},

		// Everything at once, with the lines in order.
		{name: "several findings in order", path: "app.py", content: lines(
			`import os, pickle`,
			`def handler(req):`,
			`    os.system(req.cmd)`,
			`    data = pickle.loads(req.body)`,
			`    return eval(req.expr)`,
		), want: []hit{{3, rulePyOSSystem}, {4, rulePyPickle}, {5, rulePyEval}}},
		{name: "rules only apply to python files", path: "notes.txt", content: lines(`eval(x)`, `os.system(y)`), want: nil},
	})
}

func TestMaskPython(t *testing.T) {
	t.Parallel()
	src := "x = 'a#b'  # c\ns = \"\"\"\neval(x)\n\"\"\"\nr = \"\\\"\" + y\n"
	code, noComments := maskPython(src)
	if len(code) != len(src) || len(noComments) != len(src) {
		t.Fatalf("masking changed the length: %d, %d, want %d", len(code), len(noComments), len(src))
	}
	wantCode := "x = '   '     \ns = \"\"\"\n       \n\"\"\"\nr = \"  \" + y\n"
	if code != wantCode {
		t.Errorf("code =\n%q\nwant\n%q", code, wantCode)
	}
	wantNoComments := "x = 'a#b'     \ns = \"\"\"\neval(x)\n\"\"\"\nr = \"\\\"\" + y\n"
	if noComments != wantNoComments {
		t.Errorf("noComments =\n%q\nwant\n%q", noComments, wantNoComments)
	}
}
