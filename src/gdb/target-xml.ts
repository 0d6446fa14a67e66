/**
 * The target description the GDB stub sends (`qXfer:features:read:target.xml`),
 * generated from REGISTER_LAYOUT so the description and the `g` packet
 * cannot disagree. gdb 13 validates an x86-64 description by register
 * names: the core feature must have the GPRs, rip, eflags, the segment
 * selectors and the whole x87 state (one without x87 registers is
 * rejected), the sse feature xmm0–15 and mxcsr. Names, feature names and
 * predefined types (int64, data_ptr, code_ptr, i387_ext) are those of the
 * GDB manual's "Target Descriptions" appendix; the flag and vector types
 * are defined here. `rflags` (64-bit, seamlab's name for the register) is
 * an extra register in a feature of seamlab's own, so `info registers
 * rflags` works next to gdb's 32-bit `eflags`.
 */
import { RFLAGS } from '../support/registers.js';
import { REGISTER_LAYOUT, type RegisterFeature } from './registers.js';

const FEATURE_ORDER: RegisterFeature[] = ['org.gnu.gdb.i386.core', 'org.gnu.gdb.i386.sse', 'org.gnu.gdb.i386.linux', 'org.gnu.gdb.i386.segments', 'org.seamlab.x86'];

function flagFields(): string {
  return Object.entries(RFLAGS)
    .map(([name, bit]) => {
      const n = bit.toString(2).length - 1;
      return `    <field name="${name}" start="${n}" end="${n}"/>`;
    })
    .join('\n');
}

const MXCSR_FIELDS = ['IE', 'DE', 'ZE', 'OE', 'UE', 'PE', 'DAZ', 'IM', 'DM', 'ZM', 'OM', 'UM', 'PM', 'FZ'];

/** Types a feature uses that gdb does not predefine. */
function typesFor(feature: RegisterFeature): string[] {
  switch (feature) {
    case 'org.gnu.gdb.i386.core':
      return [`  <flags id="i386_eflags" size="4">\n${flagFields()}\n  </flags>`];
    case 'org.gnu.gdb.i386.sse':
      return [
        '  <vector id="v4f" type="ieee_single" count="4"/>',
        '  <vector id="v2d" type="ieee_double" count="2"/>',
        '  <vector id="v16i8" type="int8" count="16"/>',
        '  <vector id="v8i16" type="int16" count="8"/>',
        '  <vector id="v4i32" type="int32" count="4"/>',
        '  <vector id="v2i64" type="int64" count="2"/>',
        '  <union id="vec128">\n' +
          ['v4_float:v4f', 'v2_double:v2d', 'v16_int8:v16i8', 'v8_int16:v8i16', 'v4_int32:v4i32', 'v2_int64:v2i64', 'uint128:uint128']
            .map((f) => `    <field name="${f.split(':')[0]}" type="${f.split(':')[1]}"/>`)
            .join('\n') +
          '\n  </union>',
        `  <flags id="i386_mxcsr" size="4">\n${MXCSR_FIELDS.map((n, i) => `    <field name="${n}" start="${i}" end="${i}"/>`).join('\n')}\n  </flags>`,
      ];
    case 'org.seamlab.x86':
      return [`  <flags id="seamlab_rflags" size="8">\n${flagFields()}\n  </flags>`];
    default:
      return [];
  }
}

function build(): string {
  const out = ['<?xml version="1.0"?>', '<!DOCTYPE target SYSTEM "gdb-target.dtd">', '<target version="1.0">', '  <architecture>i386:x86-64</architecture>', '  <osabi>GNU/Linux</osabi>'];
  for (const feature of FEATURE_ORDER) {
    out.push(`  <feature name="${feature}">`);
    out.push(...typesFor(feature).map((t) => t.replace(/^/gm, '  ')));
    REGISTER_LAYOUT.forEach((r, regnum) => {
      if (r.feature !== feature) return;
      out.push(`    <reg name="${r.name}" bitsize="${r.size * 8}" type="${r.type}" regnum="${regnum}"${r.group ? ` group="${r.group}"` : ''}/>`);
    });
    out.push('  </feature>');
  }
  out.push('</target>', '');
  return out.join('\n');
}

export const TARGET_XML: string = build();
