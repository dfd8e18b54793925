package doccheck

import (
	"slices"
	"testing"

	"github.com/ymera/ymera/actors"
)

func TestPythonCounting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		content string
		want    []entry
	}{
		{
			name: "module, class, methods and functions",
			content: src(
				`"""Models of the shop."""`,
				``,
				`class Order:`,
				`    """An order."""`,
				``,
				`    def total(self):`,
				`        return sum(self.lines)`,
				``,
				`    async def pay(self, card):`,
				`        '''Pays the order.'''`,
				``,
				`def load(path):`,
				`    # comments before the docstring do not hide it`,
				``,
				`    """Loads orders."""`,
				`    return []`,
			),
			want: []entry{{"module", "shop", true}, {"class", "Order", true}, {"method", "Order.total", false}, {"method", "Order.pay", true}, {"function", "load", true}},
		},
		{
			name: "no module docstring when something comes first",
			content: src(
				`#!/usr/bin/env python3`,
				`# -*- coding: utf-8 -*-`,
				`from __future__ import annotations`,
				`"""Too late to be the docstring."""`,
			),
			want: []entry{{"module", "shop", false}},
		},
		{
			name:    "empty module counts nothing",
			content: src(``, `# only a comment`, ``),
			want:    []entry{},
		},
		{
			name: "decorators and multi-line signatures",
			content: src(
				`"""M."""`,
				`@app.route("/orders",`,
				`           methods=["GET"])`,
				`@login_required`,
				`def list_orders(`,
				`    request: Request,`,
				`    limit: int = 10,`,
				`    key=lambda o: o.id,`,
				`) -> dict[str, list[int]]:`,
				`    r"""Lists orders: all of them."""`,
				``,
				`class Cfg(Base, metaclass=Meta):`,
				`    x: int = 1`,
			),
			want: []entry{{"module", "shop", true}, {"function", "list_orders", true}, {"class", "Cfg", false}},
		},
		{
			name: "string forms",
			content: src(
				`'M.'`,
				`def a():`,
				`    'single quotes'`,
				`def b():`,
				`    "double " "concatenated"`,
				`def c():`,
				`    R'''raw, upper-case prefix'''`,
				`def d():`,
				`    u"unicode prefix"; x = 1`,
				`def e():`,
				`    f"""an f-string is not a docstring"""`,
				`def g():`,
				`    b"bytes are not a docstring"`,
				`def h():`,
				`    "not alone" + suffix`,
				`def i():`,
				`    """multi-line`,
				`    def fake():`,
				`        inside the docstring`,
				`    """`,
				`def j(): "on the same line"`,
				`def k(): return 1`,
			),
			want: []entry{
				{"module", "shop", true},
				{"function", "a", true}, {"function", "b", true}, {"function", "c", true}, {"function", "d", true},
				{"function", "e", false}, {"function", "g", false}, {"function", "h", false}, {"function", "i", true},
				{"function", "j", true}, {"function", "k", false},
			},
		},
		{
			name: "private names, nested functions and private classes",
			content: src(
				`"""M."""`,
				`class Public:`,
				`    """P."""`,
				`    def __init__(self):`,
				`        pass`,
				`    def __repr__(self):`,
				`        pass`,
				`    def _internal(self):`,
				`        pass`,
				`    class Inner:`,
				`        def method(self):`,
				`            """Documented."""`,
				`class _Private:`,
				`    def method(self):`,
				`        pass`,
				`def outer():`,
				`    """O."""`,
				`    def nested():`,
				`        pass`,
				`    class Local:`,
				`        pass`,
				`def _helper():`,
				`    pass`,
			),
			want: []entry{
				{"module", "shop", true}, {"class", "Public", true},
				{"class", "Public.Inner", false}, {"method", "Public.Inner.method", true},
				{"function", "outer", true},
			},
		},
		{
			name: "definitions inside if, try and with blocks at module level",
			content: src(
				`"""M."""`,
				`if sys.version_info >= (3, 11):`,
				`    def compat():`,
				`        """C."""`,
				`else:`,
				`    def compat():`,
				`        pass`,
				`try:`,
				`    class Fast:`,
				`        pass`,
				`except ImportError:`,
				`    pass`,
			),
			want: []entry{{"module", "shop", true}, {"function", "compat", true}, {"function", "compat", false}, {"class", "Fast", false}},
		},
		{
			name:    "tabs, backslash continuations and brackets",
			content: "\"\"\"M.\"\"\"\nclass T:\n\t\"\"\"T.\"\"\"\n\tdef m(self, a, \\\n\t\t\tb):\n\t\tx = [\n1,\n]\n\tdef n(self):\n\t\t\"\"\"N.\"\"\"\n",
			want:    []entry{{"module", "shop", true}, {"class", "T", true}, {"method", "T.m", false}, {"method", "T.n", true}},
		},
		{
			name: "a header without a body is undocumented",
			content: src(
				`"""M."""`,
				`def broken():`,
				`def fine():`,
				`    """F."""`,
			),
			want: []entry{{"module", "shop", true}, {"function", "broken", false}, {"function", "fine", true}},
		},
		{
			name: "escapes and unterminated strings",
			content: src(
				`"""M."""`,
				`def a():`,
				`    "an \" escaped quote"`,
				`def b():`,
				`    'unterminated`,
				`def c():`,
				`    "continued \`,
				`on the next line"`,
				`def d():`,
				`    """triple with \""" inside"""`,
			),
			want: []entry{{"module", "shop", true}, {"function", "a", true}, {"function", "b", true}, {"function", "c", true}, {"function", "d", true}},
		},
		{
			name:    "keywords as names are not definitions",
			content: src(`"""M."""`, `x.def = 1`, `klass = "class Foo:"`, `print("def bar():")`),
			want:    []entry{{"module", "shop", true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := itemsOf(t, actors.SourceFile{Path: "app/shop.py", Content: tc.content})
			if !slices.Equal(got, tc.want) {
				t.Errorf("items =\n  %v\nwant\n  %v", got, tc.want)
			}
		})
	}
}

func TestPythonLines(t *testing.T) {
	t.Parallel()
	items := pythonItems("m.py", src(
		`"""M."""`,
		``,
		`@decorator`,
		`async def f(`,
		`    a,`,
		`):`,
		`    pass`,
		`s = """`,
		`"""`,
		`class C:`,
		`    pass`,
		`t = "a \`,
		`b" + '\`,
		`'`,
		`class D: pass`,
	))
	var got []int
	for _, it := range items {
		got = append(got, it.line)
	}
	if want := []int{1, 4, 10, 15}; !slices.Equal(got, want) {
		t.Errorf("lines = %v, want %v", got, want)
	}
}
