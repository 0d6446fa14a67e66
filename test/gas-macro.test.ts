/**
 * GNU as macros, repetitions and conditionals. Expected bytes are written
 * by hand; the larger snippets are also assembled by GNU as live.
 */
import { describe, expect, it } from 'vitest';
import { asmError, gasAvailable, gnuAs, hex, seamlabAs } from './support/gas-live.js';

const data = (text: string) => hex(seamlabAs(`.data\n${text}\n`).sections.get('.data'));
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');

function sameAsGnu(text: string): string {
  const mine = hex(seamlabAs(text).sections.get('.data'));
  if (gasAvailable()) {
    const gnu = gnuAs(text);
    expect(gnu.errors).toEqual([]);
    expect(mine).toBe(hex(gnu.sections.get('.data')));
  }
  return mine;
}

const error = asmError;

const COUNTER_SOURCE = `.macro inner
.byte \\@
.endm
.macro outer a
.byte 0xa0, \\@
inner
.byte 0xa1, \\@
inner
.endm
.data
outer 1
outer 2
.rept 2
.byte 0xb0
inner
.endr
.irp x,1,2
.byte 0xc0, \\x
inner
.endr
inner
.macro withrept
.rept 2
.byte 0xd0, \\@
.endr
.endm
withrept
inner
.macro withirp
.irp q, 7, 8
.byte 0xe0, \\@, \\q
.endr
.endm
withirp
inner
.irp x,1
.byte \\@
.endr
`;

describe('\\@ (macro expansion counter)', () => {
  it('outer gets 0 and the nested macro 1 on first use (facts §1.8)', () => {
    expect(data('.macro inner\n.byte \\@\n.endm\n.macro outer\n.byte \\@\ninner\n.endm\nouter')).toBe('0001');
  });

  it('counts every macro expansion, nested ones included; .rept/.irp do not count', () => {
    // outer:0 [inner:1, inner:2], outer:3 [4, 5], rept inner 6 7, irp inner 8 9, inner 10,
    // withrept:11 (both passes see 11), inner 12, withirp:13, inner 14, irp body sees 15.
    const expected = ['a000', '01', 'a100', '02', 'a003', '04', 'a103', '05', 'b006', 'b007', 'c00108', 'c00209', '0a', 'd00b', 'd00b', '0c', 'e00d07', 'e00d08', '0e', '0f'].join('');
    expect(sameAsGnu(COUNTER_SOURCE)).toBe(expected);
  });
});

describe('macro parameters and arguments', () => {
  it('positional, keyword, defaults, empty arguments', () => {
    const src = `.macro M a b=5 c:req
.byte \\a, \\b, \\c
.endm
M 1,,3
M 1 2 3
M c=9 a=2
`;
    expect(data(src)).toBe('010503' + '010203' + '020509');
  });

  it('TDX_MODULE_CALL-style signature: host:req ret=0 saved=0 with keyword invocation', () => {
    const src = `.macro TDX_MODULE_CALL host:req ret=0 saved=0
.byte \\host, \\ret, \\saved
.if \\saved && \\ret
.byte 0xff
.endif
.endm
TDX_MODULE_CALL host=1
TDX_MODULE_CALL host=1 ret=1
TDX_MODULE_CALL host=1 ret=1 saved=1
TDX_MODULE_CALL host=0 saved=1
`;
    expect(data(src)).toBe('010000' + '010100' + '010101ff' + '000001');
  });

  it('splits arguments like GNU as: quotes stripped, brackets kept whole, blanks around operators removed', () => {
    const src = `.macro B x
.ascii "<\\x>"
.endm
.macro C x y
.ascii "<\\x|\\y>"
.endm
B (a b)
B [a b]
B a(b c)d
C x = 1
C y=2, x=1
C 1 ,2
C 1 (2)
C (1)(2)
C 1+ 2
C 1 +2
C "a b" , "c,d"
C a:b
C %es:(%rdi)
C a : b
C a :b
`;
    const expected = ['<(a b)>', '<[a b]>', '<a(b c)d>', '<1|>', '<1|2>', '<1|2>', '<1|(2)>', '<(1)(2)|>', '<1+2|>', '<1+2|>', '<a b|c,d>', '<a:b|>', '<%es:(%rdi)|>', '<a:b|>', '<a:b|>'].map(ascii).join('');
    expect(sameAsGnu(`.data\n${src}`)).toBe(expected);
  });

  it('vararg takes the rest of the line', () => {
    const src = `.macro N p1 p2:vararg
.ascii "[\\p1][\\p2]"
.endm
N 1 2 3 , 4
N 1,2,3
`;
    expect(sameAsGnu(`.data\n${src}`)).toBe(ascii('[1][2 3,4][1][2,3]'));
  });

  it('\\(), \\(text), &param, trailing quote and unknown \\name', () => {
    const src = `.macro A a b
.ascii "1:\\a'\\b|"
.ascii "2:&a|&b&|&&|&zz|"
.ascii "3:\\(x y)|\\()|\\zz|"
.ascii "4:\\a\\()\\b|\\a&\\b"
.endm
A p q
`;
    expect(sameAsGnu(`.data\n${src}`)).toBe(ascii('1:pq|2:p|q|&&|&zz|3:x y||zz|4:pq|p&q'));
  });

  it('macro names are case-insensitive', () => {
    expect(data('.macro Foo x\n.byte \\x\n.endm\nFOO 3\nfoo 4')).toBe('0304');
  });

  it('.exitm leaves the expansion (and its open conditionals)', () => {
    const src = `.macro E n
.byte 1
.if \\n
.exitm
.endif
.byte 2
.endm
E 1
E 0
`;
    expect(sameAsGnu(`.data\n${src}`)).toBe('01' + '0102');
  });

  it('.purgem allows redefinition; redefinition without it is an error', () => {
    expect(data('.macro P\n.byte 1\n.endm\nP\n.purgem P\n.macro P\n.byte 2\n.endm\nP')).toBe('0102');
    expect(error('.macro P\n.endm\n.macro P\n.endm\n').code).toBe('GAS_MACRO_REDEFINED');
  });

  it('nested definitions: a macro that defines a macro', () => {
    const src = `.macro def name, val
.macro \\name
.byte \\val
.endm
.endm
def one, 1
def two, 2
one
two
`;
    expect(sameAsGnu(`.data\n${src}`)).toBe('0102');
  });

  it('recursion with a terminating .if', () => {
    const src = `.macro count n
.byte \\n
.if \\n
count \\n-1
.endif
.endm
count 3
`;
    expect(sameAsGnu(`.data\n${src}`)).toBe('03' + '02' + '01' + '00');
  });
});

describe('repetitions', () => {
  it('.rept, .irp, .irpc, empty .irp', () => {
    const src = `.rept 3
.byte 7
.endr
.irp r, 1, 2, 3
.byte \\r
.endr
.irpc c, 456
.byte \\c
.endr
.irp x
.byte 9
.endr
.rept 0
.byte 8
.endr
`;
    expect(sameAsGnu(`.data\n${src}`)).toBe('070707' + '010203' + '040506' + '09');
  });

  it('nested .rept inside .irp', () => {
    expect(data('.irp a,1,2\n.rept 2\n.byte \\a\n.endr\n.endr')).toBe('01010202');
  });
});

describe('conditionals', () => {
  it('.if/.elseif/.else/.endif, nested, with dead branches not evaluated', () => {
    const src = `.if 0
.byte 1
.elseif 1
.byte 2
.if 0
.byte 3
.else
.byte 4
.endif
.elseif 1
.byte 5
.else
.byte 6
.endif
.if 0
.if undefined_symbol_not_evaluated
.endif
.endif
`;
    expect(sameAsGnu(`.data\n${src}`)).toBe('0204');
  });

  it('.ifdef/.ifndef/.ifb/.ifnb/.ifc/.ifnc/.ifeq/.ifne/.iflt/.ifge/.ifeqs', () => {
    const src = `x = 1
.ifdef x
.byte 1
.endif
.ifndef y
.byte 2
.endif
.ifb
.byte 3
.endif
.ifnb a
.byte 4
.endif
.ifc abc,abc
.byte 5
.endif
.ifnc abc,abd
.byte 6
.endif
.ifeq 0
.byte 7
.endif
.ifne 0
.byte 0xee
.endif
.iflt -1
.byte 8
.endif
.ifge 0
.byte 9
.endif
.ifeqs "a","a"
.byte 10
.endif
`;
    expect(sameAsGnu(`.data\n${src}`)).toBe('0102030405060708090a');
  });

  it('a non-constant .if is an error', () => {
    const e = error('.if later\n.endif\nlater:\n');
    expect(e.code).toBe('GAS_NOT_CONSTANT');
    expect(e.where?.pos.line).toBe(1);
  });
});

describe('errors with positions and the macro stack', () => {
  it('unbalanced .if / .endif / .else', () => {
    expect(error('.if 1\n.byte 1\n').code).toBe('GAS_UNBALANCED_IF');
    expect(error('.endif\n').code).toBe('GAS_UNBALANCED_IF');
    expect(error('.else\n').code).toBe('GAS_UNBALANCED_IF');
    expect(error('.if 1\n.else\n.else\n.endif\n').code).toBe('GAS_UNBALANCED_IF');
  });

  it('end of macro inside a conditional (GNU as: "end of macro inside conditional")', () => {
    const e = error('.macro m\n.if 1\n.endm\nm\n.endif\n');
    expect(e.code).toBe('GAS_UNBALANCED_IF');
    expect(e.where?.pos.line).toBe(2);
  });

  it('unbalanced .macro / .rept', () => {
    expect(error('.macro m\n.byte 1\n').code).toBe('GAS_UNBALANCED_MACRO');
    expect(error('.endm\n').code).toBe('GAS_UNBALANCED_MACRO');
    expect(error('.rept 2\n.byte 1\n').code).toBe('GAS_UNBALANCED_REPT');
    expect(error('.endr\n').code).toBe('GAS_UNBALANCED_REPT');
  });

  it('recursion without end stops at the depth limit with the macro stack', () => {
    const e = error('.macro r\nr\n.endm\n.data\nr\n');
    expect(e.code).toBe('GAS_MACRO_DEPTH');
    const frames = e.where?.gasStack ?? [];
    expect(frames.length).toBe(100);
    expect(frames.every((f) => f.kind === 'macro' && f.name === 'r')).toBe(true);
    expect(frames[frames.length - 1]!.invokedAt.line).toBe(5);
  });

  it('a huge .rept is refused before it runs', () => {
    const e = error('.data\n.rept 100000000\n.byte 0\n.endr\n');
    expect(e.code).toBe('GAS_STATEMENT_LIMIT');
  });

  it('output over the size limit', () => {
    expect(error('.data\n.skip 0x7fffffff\n').code).toBe('GAS_OUTPUT_LIMIT');
    expect(error('.data\n.rept 100000\n.fill 1000, 1, 0\n.endr\n').code).toBe('GAS_OUTPUT_LIMIT');
  });

  it('missing :req argument and unknown keyword', () => {
    expect(error('.macro m a:req\n.endm\nm\n').code).toBe('GAS_MACRO_ARGS');
    expect(error('.macro m a\n.endm\nm b=1\n').code).toBe('GAS_MACRO_ARGS');
    expect(error('.macro m a\n.endm\nm 1 2\n').code).toBe('GAS_MACRO_ARGS');
  });

  it('an error inside nested macros names each invocation', () => {
    const e = error('.macro inner\n.byte undefined_thing_is_fine, (\n.endm\n.macro outer\ninner\n.endm\n.data\nouter\n');
    expect(e.code).toBe('GAS_BAD_EXPRESSION');
    expect(e.where?.pos.line).toBe(2);
    expect(e.where?.gasStack.map((f) => `${f.name}@${f.invokedAt.line}`)).toEqual(['inner@5', 'outer@8']);
  });
});
