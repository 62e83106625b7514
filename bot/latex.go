package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// CleanLaTeX rewrites the LaTeX of paper titles and abstracts as plain Unicode text for cards. It reads:
//   - math between $...$, $$...$$, \(...\) and \[...\] without its delimiters (a lone "$" stays: "costs $5");
//   - symbols and Greek letters as characters ($\alpha$ → α, \leq → ≤, $\sim$3x → ~3x, \mathbb{R} → ℝ);
//   - superscripts as superscript characters when each character has one (n^2 → n², n^{10} → n¹⁰, 2^n → 2ⁿ),
//     else as ^x or ^(…) (x^T, e^(-x)); subscripts in math the same way with subscript digits (H_2 → H₂) and
//     _x or _(…) otherwise (x_i, s_NN, w_(t+1));
//   - \frac{a}{b} as a/b (parenthesised when needed: (n+1)/2), \sqrt{x} as √x;
//   - accents as accented letters (Schr\"odinger, Schr\"{o}dinger, Schr{\"o}dinger → Schrödinger; \c{c} → ç) and
//     \ss, \o, \ae, \l ... as ß, ø, æ, ł;
//   - font and text commands (\textbf, \emph, \mathcal{O}, \mathrm, \text, ...) as their argument;
//   - -- and --- as – and —, “ and ” as “ and ”, ~ between words as a space, \% \& \_ \$ \# \{ \} as the character.
//
// It never loses text: an unknown command keeps its arguments' text, or its name when it has none (\LaTeX reads
// "LaTeX"). White space is collapsed. It is not a TeX engine: cards need readable text, not typesetting.
func CleanLaTeX(s string) string {
	if !strings.ContainsAny(s, "$\\{}^_~`'-") {
		return strings.Join(strings.Fields(s), " ")
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, seg := range splitMath(s) {
		b.WriteString(texRender(seg.text, seg.math, 0))
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// texSegment is a run of text or of math.
type texSegment struct {
	text string
	math bool
}

// splitMath cuts s into text and math segments, without the math delimiters. A delimiter with no closing one is
// text, so a dollar amount in plain text survives.
func splitMath(s string) []texSegment {
	var segs []texSegment
	start := 0 // of the current text segment
	for i := 0; i < len(s); {
		switch {
		case s[i] == '\\' && i+1 < len(s) && (s[i+1] == '(' || s[i+1] == '['):
			closer := `\)`
			if s[i+1] == '[' {
				closer = `\]`
			}
			if end := strings.Index(s[i+2:], closer); end >= 0 {
				segs = append(segs, texSegment{s[start:i], false}, texSegment{s[i+2 : i+2+end], true})
				i += 2 + end + 2
				start = i
				continue
			}
			i += 2
		case s[i] == '\\':
			// An escaped character (\$ among them) is not a delimiter.
			_, size := utf8.DecodeRuneInString(s[min(i+1, len(s)):])
			i += 1 + size
		case s[i] == '$':
			open := "$"
			if strings.HasPrefix(s[i:], "$$") {
				open = "$$"
			}
			if end := closingDollar(s[i+len(open):], open); end > 0 {
				segs = append(segs, texSegment{s[start:i], false}, texSegment{s[i+len(open) : i+len(open)+end], true})
				i += len(open) + end + len(open)
				start = i
				continue
			}
			i += len(open)
		default:
			i++
		}
	}
	return append(segs, texSegment{s[start:], false})
}

// closingDollar is the index in s (what follows an opening delimiter) of the delimiter that closes it, or -1. As
// in Pandoc, math starts right after its "$" and ends right before its closing one, so two amounts in plain text
// ("between $5 and $10") are not read as math: the opening must not be followed by a space, the closing not
// preceded by one.
func closingDollar(s, delim string) int {
	if s == "" || isSpaceByte(s[0]) {
		return -1
	}
	for off := 0; off < len(s); {
		end := indexUnescaped(s[off:], delim)
		if end < 0 {
			return -1
		}
		if end += off; end > 0 && !isSpaceByte(s[end-1]) {
			return end
		}
		off = end + len(delim)
	}
	return -1
}

// indexUnescaped is the index of the first sep in s that no backslash escapes, or -1.
func indexUnescaped(s, sep string) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case strings.HasPrefix(s[i:], sep):
			return i
		}
	}
	return -1
}

// maxTeXDepth bounds the nesting of groups and arguments rendered recursively; deeper text is kept as is but for
// its braces, so a hostile title cannot exhaust the stack.
const maxTeXDepth = 32

// texRender renders one segment (math or text) as plain text.
func texRender(s string, math bool, depth int) string {
	if depth > maxTeXDepth {
		return flatten(s)
	}
	p := texParser{s: s, math: math, depth: depth}
	p.b.Grow(len(s))
	for p.i < len(p.s) {
		p.step()
	}
	return p.b.String()
}

// flatten is the text of s too deeply nested to render: its words, without commands and braces.
func flatten(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			for i+1 < len(s) && isASCIILetter(s[i+1]) {
				i++
			}
		case '{', '}':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// texParser renders one segment.
type texParser struct {
	s     string
	i     int
	math  bool
	depth int
	b     strings.Builder
}

// sub renders s in the parser's mode one level deeper.
func (p *texParser) sub(s string) string { return texRender(s, p.math, p.depth+1) }

// step renders the next token.
func (p *texParser) step() {
	c := p.s[p.i]
	switch c {
	case '\\':
		p.command()
	case '{':
		body, n := group(p.s[p.i:])
		p.i += n
		p.b.WriteString(p.sub(body))
	case '}':
		p.i++ // a stray closing brace is grouping, never text
	case '^':
		p.i++
		p.script(superscripts, "^")
	case '_':
		p.i++
		if p.math {
			p.script(subscripts, "_")
		} else {
			p.b.WriteByte('_')
		}
	case '~':
		p.i++
		// A tie (Fig.~1, et~al.) is a space; a tilde starting a word ("~3x", "~ 10") means "about", and one after
		// a slash is part of a link (example.org/~user).
		if p.math || p.i > 1 && tieBefore(p.s[p.i-2]) && p.i < len(p.s) && tieAfter(p.s[p.i]) {
			p.b.WriteByte(' ')
		} else {
			p.b.WriteByte('~')
		}
	case '-':
		switch {
		case p.math:
			p.b.WriteByte('-')
			p.i++
		case strings.HasPrefix(p.s[p.i:], "---"):
			p.b.WriteString("—")
			p.i += 3
		case strings.HasPrefix(p.s[p.i:], "--"):
			p.b.WriteString("–")
			p.i += 2
		default:
			p.b.WriteByte('-')
			p.i++
		}
	case '`', '\'':
		switch {
		case !p.math && strings.HasPrefix(p.s[p.i:], "``"):
			p.b.WriteString("“")
			p.i += 2
		case !p.math && strings.HasPrefix(p.s[p.i:], "''"):
			p.b.WriteString("”")
			p.i += 2
		case p.math && c == '\'':
			p.b.WriteString("′")
			p.i++
		default:
			p.b.WriteByte(c)
			p.i++
		}
	default:
		_, size := utf8.DecodeRuneInString(p.s[p.i:])
		p.b.WriteString(p.s[p.i : p.i+size])
		p.i += size
	}
}

// command renders the control sequence at p.i.
func (p *texParser) command() {
	p.i++ // the backslash
	if p.i >= len(p.s) {
		return // a trailing backslash
	}
	// A control symbol: backslash and one non-letter.
	if !isASCIILetter(p.s[p.i]) {
		r, size := utf8.DecodeRuneInString(p.s[p.i:])
		p.i += size
		if mark, ok := textAccents[string(r)]; ok {
			p.accent(mark)
			return
		}
		switch r {
		case ',', ';', ':', ' ', '\t', '\n', '\\':
			p.b.WriteByte(' ')
		case '!', '/', '-':
			// A negative thin space, an italic correction, a discretionary hyphen: nothing to read.
		default:
			p.b.WriteRune(r) // \% \& \_ \$ \# \{ \} and any other escaped character
		}
		return
	}
	start := p.i
	for p.i < len(p.s) && isASCIILetter(p.s[p.i]) {
		p.i++
	}
	name := p.s[start:p.i]
	if mark, ok := letterAccents[name]; ok {
		p.accent(mark)
		return
	}
	if r, ok := specialLetters[name]; ok {
		p.b.WriteString(r)
		p.skipOneSpace() // TeX eats the space after a control word: "Stra\ss e" is one word
		return
	}
	if sym, ok := texSymbols[name]; ok {
		p.b.WriteString(sym)
		return
	}
	switch {
	case dropped[name]:
		return
	case spaces[name]:
		p.b.WriteByte(' ')
		return
	case name == "frac" || name == "dfrac" || name == "tfrac":
		num, _ := p.arg()
		den, _ := p.arg()
		p.b.WriteString(operand(p.sub(num)) + "/" + operand(p.sub(den)))
		return
	case name == "sqrt":
		root := "√"
		if idx, ok := p.optArg(); ok {
			switch strings.TrimSpace(idx) {
			case "3":
				root = "∛"
			case "4":
				root = "∜"
			default:
				root = toScript(p.sub(idx), superscripts, "") + "√"
			}
		}
		x, _ := p.arg()
		p.b.WriteString(root + operand(p.sub(x)))
		return
	case name == "mathbb" || name == "mathbbm":
		x, _ := p.arg()
		x = p.sub(x)
		if ds, ok := doubleStruck[x]; ok {
			x = ds
		}
		p.b.WriteString(x)
		return
	case mathAccents[name] != "":
		x, _ := p.arg()
		x = p.sub(x)
		if utf8.RuneCountInString(x) == 1 {
			x = norm.NFC.String(x + mathAccents[name])
		}
		p.b.WriteString(x)
		return
	case firstArgDropped[name]:
		p.arg()
		p.argsText()
		return
	case name == "left" || name == "right" || name == "middle":
		// The delimiter that follows is kept; a "." means none.
		if p.i < len(p.s) && p.s[p.i] == '.' {
			p.i++
		}
		return
	}
	// A font or text command, or an unknown one: its arguments' text, else its name.
	if textCommands[name] {
		p.argsText()
		return
	}
	if !p.argsText() {
		p.b.WriteString(name)
	}
}

// argsText renders the braced arguments that follow, and reports whether there were any.
func (p *texParser) argsText() bool {
	found := false
	for {
		j := p.i
		for j < len(p.s) && isSpaceByte(p.s[j]) {
			j++
		}
		if j >= len(p.s) || p.s[j] != '{' {
			return found
		}
		body, n := group(p.s[j:])
		p.i = j + n
		p.b.WriteString(p.sub(body))
		found = true
	}
}

// arg reads one argument: a braced group's content, a control sequence, or one character. Spaces before it are
// skipped. It reports false at the end of the segment.
func (p *texParser) arg() (string, bool) {
	for p.i < len(p.s) && isSpaceByte(p.s[p.i]) {
		p.i++
	}
	if p.i >= len(p.s) {
		return "", false
	}
	switch p.s[p.i] {
	case '{':
		body, n := group(p.s[p.i:])
		p.i += n
		return body, true
	case '\\':
		start := p.i
		p.i++
		if p.i < len(p.s) && isASCIILetter(p.s[p.i]) {
			for p.i < len(p.s) && isASCIILetter(p.s[p.i]) {
				p.i++
			}
		} else if p.i < len(p.s) {
			_, size := utf8.DecodeRuneInString(p.s[p.i:])
			p.i += size
		}
		return p.s[start:p.i], true
	}
	_, size := utf8.DecodeRuneInString(p.s[p.i:])
	p.i += size
	return p.s[p.i-size : p.i], true
}

// optArg reads an optional [argument], if one follows.
func (p *texParser) optArg() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '[' {
		return "", false
	}
	end := strings.IndexByte(p.s[p.i:], ']')
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+end]
	p.i += end + 1
	return v, true
}

// skipOneSpace skips one space after a control word that stands for a letter.
func (p *texParser) skipOneSpace() {
	if p.i < len(p.s) && p.s[p.i] == ' ' && p.i+1 < len(p.s) && isASCIILetter(p.s[p.i+1]) {
		p.i++
	}
}

// accent puts the combining mark on its argument's first letter (Schr\"odinger, \"{o}, \c c, \"{\i}).
func (p *texParser) accent(mark string) {
	x, ok := p.arg()
	if !ok {
		return
	}
	x = p.sub(x)
	r, size := utf8.DecodeRuneInString(x)
	if size == 0 {
		p.b.WriteString(strings.TrimSpace(mark)) // an accent on nothing ("\'{}") is the accent itself
		return
	}
	if r == 'ı' {
		r = 'i' // \"{\i}: the dotless i only exists so that the accent has room
	}
	p.b.WriteString(norm.NFC.String(string(r) + mark))
	p.b.WriteString(x[size:])
}

// script renders the superscript or subscript argument at p.i: as script characters when each character has
// one, else after the marker, parenthesised when it is more than a word.
func (p *texParser) script(table map[rune]rune, marker string) {
	if p.i < len(p.s) && p.s[p.i] == '(' {
		// x^(n+1) is already written for reading (and is what this function makes of x^{n-1}).
		p.b.WriteString(marker)
		return
	}
	raw, ok := p.arg()
	if !ok {
		p.b.WriteString(marker)
		return
	}
	x := strings.TrimSpace(p.sub(raw))
	if marker == "^" && x != "" && strings.Trim(x, "*′'") == "" {
		p.b.WriteString(x) // x^*, f^\prime: a star or prime is already raised
		return
	}
	p.b.WriteString(toScript(x, table, marker))
}

// toScript writes x in script characters when every character has one, else marker followed by x (in
// parentheses unless it is a single word).
func toScript(x string, table map[rune]rune, marker string) string {
	if x == "" {
		return marker
	}
	out := make([]rune, 0, len(x))
	for _, r := range x {
		s, ok := table[r]
		if !ok {
			out = nil
			break
		}
		out = append(out, s)
	}
	if out != nil {
		return string(out)
	}
	return marker + operand(x)
}

// operand returns x parenthesised unless it reads as one term: a fraction's numerator, a root's radicand.
func operand(x string) string {
	x = strings.TrimSpace(x)
	if utf8.RuneCountInString(x) <= 1 {
		return x
	}
	for _, r := range x {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' && !isScriptRune(r) {
			if strings.HasPrefix(x, "(") && strings.HasSuffix(x, ")") && strings.Count(x, "(") == 1 {
				return x
			}
			return "(" + x + ")"
		}
	}
	return x
}

// isScriptRune reports whether r is a superscript or subscript character of the tables, or the marker that
// stands for one.
func isScriptRune(r rune) bool {
	return scriptRunes[r] || r == '^' || r == '_' || r == '′'
}

// group returns the content of the braced group at the start of s (s[0] == '{') and the bytes it spans. An
// unclosed group runs to the end of s.
func group(s string) (string, int) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:i], i + 1
			}
		}
	}
	return s[1:], len(s)
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// tieBefore and tieAfter tell the characters around a "~" that make it a tie between words.
func tieBefore(c byte) bool {
	return isASCIILetter(c) || c >= '0' && c <= '9' || strings.IndexByte(".,;:)", c) >= 0
}
func tieAfter(c byte) bool {
	return isASCIILetter(c) || c >= '0' && c <= '9' || c == '(' || c == '\\' || c == '$'
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// textAccents are the control-symbol accents, as combining marks.
var textAccents = map[string]string{
	`"`: "\u0308", `'`: "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304", ".": "\u0307",
}

// letterAccents are the control-word accents, as combining marks.
var letterAccents = map[string]string{
	"c": "\u0327", "v": "\u030C", "H": "\u030B", "u": "\u0306", "k": "\u0328", "r": "\u030A", "d": "\u0323",
	"b": "\u0331", "t": "\u0361",
}

// mathAccents are the math accents, as combining marks on a one-character argument ($t\bar{t}$ reads tt̄).
var mathAccents = map[string]string{
	"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0305", "tilde": "\u0303",
	"widetilde": "\u0303", "vec": "\u20D7", "dot": "\u0307", "ddot": "\u0308", "check": "\u030C",
	"breve": "\u0306", "acute": "\u0301", "grave": "\u0300",
}

// specialLetters are the text commands that stand for a letter.
var specialLetters = map[string]string{
	"ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å", "l": "ł",
	"L": "Ł", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ", "TH": "Þ", "ng": "ŋ", "NG": "Ŋ",
}

// doubleStruck are the blackboard-bold letters of \mathbb that have a character of their own.
var doubleStruck = map[string]string{
	"C": "ℂ", "H": "ℍ", "N": "ℕ", "P": "ℙ", "Q": "ℚ", "R": "ℝ", "Z": "ℤ", "E": "𝔼", "1": "𝟙",
}

// textCommands are font, style and box commands whose argument is the text (\textbf{x} is x, \mathcal{O} is O).
var textCommands = map[string]bool{
	"textbf": true, "textit": true, "textsl": true, "textsc": true, "textrm": true, "textsf": true, "texttt": true,
	"textup": true, "textmd": true, "textnormal": true, "emph": true, "text": true, "mbox": true, "hbox": true,
	"mathrm": true, "mathbf": true, "mathit": true, "mathsf": true, "mathtt": true, "mathcal": true,
	"mathscr": true, "mathfrak": true, "mathnormal": true, "boldsymbol": true, "bm": true, "pmb": true,
	"operatorname": true, "underline": true, "uline": true, "textsuperscript": true, "ensuremath": true,
	"url": true, "footnote": true, "cite": true, "citep": true, "citet": true, "ref": true, "eqref": true,
}

// firstArgDropped are commands whose first argument is not text: \textcolor{red}{x}, \href{url}{x}.
var firstArgDropped = map[string]bool{"textcolor": true, "href": true, "colorbox": true}

// dropped are commands that only change how text looks or is laid out; nothing of them is read.
var dropped = map[string]bool{
	"displaystyle": true, "textstyle": true, "scriptstyle": true, "scriptscriptstyle": true, "limits": true,
	"nolimits": true, "big": true, "Big": true, "bigg": true, "Bigg": true, "bigl": true, "bigr": true, "Bigl": true,
	"Bigr": true, "biggl": true, "biggr": true, "Biggl": true, "Biggr": true, "bf": true, "it": true, "em": true,
	"rm": true, "sf": true, "tt": true, "sc": true, "sl": true, "small": true, "large": true, "Large": true,
	"footnotesize": true, "normalsize": true, "noindent": true, "centering": true, "label": true,
	"nonumber": true, "notag": true, "relax": true, "protect": true, "xspace": true, "mathstrut": true,
}

// spaces are spacing commands, read as one space.
var spaces = map[string]bool{"quad": true, "qquad": true, "enspace": true, "thinspace": true, "medspace": true,
	"thickspace": true, "newline": true, "linebreak": true, "par": true, "hfill": true, "space": true, "nobreakspace": true,
}

// texSymbols maps the commands common in titles and abstracts to the characters they stand for; a name such as
// \log or \max, not listed, is read as its name.
var texSymbols = map[string]string{
	// Greek.
	"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε", "zeta": "ζ",
	"eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "varkappa": "ϰ", "lambda": "λ",
	"mu": "μ", "nu": "ν", "xi": "ξ", "omicron": "ο", "pi": "π", "varpi": "ϖ", "rho": "ρ", "varrho": "ϱ",
	"sigma": "σ", "varsigma": "ς", "tau": "τ", "upsilon": "υ", "phi": "ϕ", "varphi": "φ", "chi": "χ", "psi": "ψ",
	"omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ",
	"Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "varGamma": "Γ", "varDelta": "Δ", "varLambda": "Λ",
	"varSigma": "Σ", "varPhi": "Φ", "varPsi": "Ψ", "varOmega": "Ω",
	// Relations.
	"leq": "≤", "le": "≤", "leqslant": "⩽", "geq": "≥", "ge": "≥", "geqslant": "⩾", "neq": "≠", "ne": "≠",
	"approx": "≈", "simeq": "≃", "sim": "~", "cong": "≅", "equiv": "≡", "propto": "∝", "ll": "≪", "gg": "≫",
	"lesssim": "≲", "gtrsim": "≳", "prec": "≺", "succ": "≻", "preceq": "⪯", "succeq": "⪰", "doteq": "≐",
	"in": "∈", "notin": "∉", "ni": "∋", "subset": "⊂", "supset": "⊃", "subseteq": "⊆", "supseteq": "⊇",
	"perp": "⊥", "parallel": "∥", "mid": "|", "vdash": "⊢", "models": "⊨", "asymp": "≍",
	// Operators.
	"times": "×", "cdot": "·", "div": "÷", "pm": "±", "mp": "∓", "ast": "∗", "star": "⋆", "circ": "∘",
	"bullet": "•", "oplus": "⊕", "otimes": "⊗", "odot": "⊙", "cap": "∩", "cup": "∪", "setminus": "∖",
	"wedge": "∧", "land": "∧", "vee": "∨", "lor": "∨", "neg": "¬", "lnot": "¬", "sum": "∑", "prod": "∏",
	"coprod": "∐", "int": "∫", "iint": "∬", "oint": "∮", "bigcup": "⋃", "bigcap": "⋂", "bigoplus": "⨁",
	"bigotimes": "⨂", "partial": "∂", "nabla": "∇", "forall": "∀", "exists": "∃", "nexists": "∄",
	"emptyset": "∅", "varnothing": "∅", "infty": "∞", "aleph": "ℵ", "hbar": "ℏ", "ell": "ℓ", "Re": "ℜ",
	"Im": "ℑ", "wp": "℘", "top": "⊤", "bot": "⊥", "angle": "∠", "triangle": "△", "Box": "□", "square": "□",
	"dagger": "†", "ddagger": "‡", "prime": "′", "degree": "°", "surd": "√", "checkmark": "✓", "S": "§", "P": "¶",
	"copyright": "©", "texttrademark": "™", "textregistered": "®", "textdegree": "°", "euro": "€",
	"pounds": "£", "textbullet": "•", "textperiodcentered": "·", "textasciitilde": "~", "textbackslash": `\`,
	"textless": "<", "textgreater": ">", "textbar": "|", "textunderscore": "_", "textasciicircum": "^",
	"textendash": "–", "textemdash": "—", "textquoteleft": "‘", "textquoteright": "’", "textquotedblleft": "“",
	"textquotedblright": "”", "dots": "…", "ldots": "…", "cdots": "⋯", "vdots": "⋮", "ddots": "⋱",
	"textellipsis": "…", "lbrace": "{", "rbrace": "}", "langle": "⟨", "rangle": "⟩", "lceil": "⌈", "rceil": "⌉",
	"lfloor": "⌊", "rfloor": "⌋", "vert": "|", "Vert": "‖", "lvert": "|", "rvert": "|", "lVert": "‖",
	"rVert": "‖", "backslash": `\`,
	// Arrows.
	"to": "→", "rightarrow": "→", "leftarrow": "←", "gets": "←", "leftrightarrow": "↔", "Rightarrow": "⇒",
	"Leftarrow": "⇐", "Leftrightarrow": "⇔", "implies": "⟹", "impliedby": "⟸", "iff": "⟺", "mapsto": "↦",
	"longrightarrow": "⟶", "longleftarrow": "⟵", "longmapsto": "⟼", "uparrow": "↑", "downarrow": "↓",
	"hookrightarrow": "↪", "rightleftharpoons": "⇌", "nearrow": "↗", "searrow": "↘",
	// Names that typeset as words.
	"LaTeX": "LaTeX", "TeX": "TeX", "BibTeX": "BibTeX",
}

// superscripts and subscripts are the characters with a Unicode superscript or subscript form that reads well
// in every font: digits, signs, parentheses, and n and i for the superscripts (2ⁿ, xⁱ).
var (
	superscripts = map[rune]rune{
		'0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹',
		'+': '⁺', '-': '⁻', '−': '⁻', '=': '⁼', '(': '⁽', ')': '⁾', 'n': 'ⁿ', 'i': 'ⁱ',
	}
	subscripts = map[rune]rune{
		'0': '₀', '1': '₁', '2': '₂', '3': '₃', '4': '₄', '5': '₅', '6': '₆', '7': '₇', '8': '₈', '9': '₉',
		'+': '₊', '-': '₋', '−': '₋', '=': '₌', '(': '₍', ')': '₎',
	}
	scriptRunes = func() map[rune]bool {
		m := map[rune]bool{}
		for _, t := range []map[rune]rune{superscripts, subscripts} {
			for _, r := range t {
				m[r] = true
			}
		}
		return m
	}()
)
