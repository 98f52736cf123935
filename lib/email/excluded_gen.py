#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Print the range table of code points that lc_email_valid() refuses.

Run by hand when Unicode adds to the properties below, and paste the output
over the table in email.c; the build never runs it. Reads the Unicode
Character Database, e.g. Debian's unicode-data package:

    lib/email/excluded_gen.py /usr/share/unicode

The set is: the C1 controls, every White_Space character above ASCII,
U+180E (a space before Unicode 6.3), every Default_Ignorable_Code_Point,
U+FFF9..U+FFFB (interlinear annotation, invisible format characters that
are not default-ignorable) and every Noncharacter_Code_Point. Adjacent
ranges are merged.
"""
import sys

UCD = sys.argv[1] if len(sys.argv) > 1 else '/usr/share/unicode'


def prop(fname, name):
    out = []
    with open(f'{UCD}/{fname}', encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            rng, p = [x.strip() for x in line.split(';')[:2]]
            if p != name:
                continue
            a, _, b = rng.partition('..')
            out.append((int(a, 16), int(b or a, 16)))
    return out


def main():
    r = [(0x80, 0x9f), (0x180e, 0x180e), (0xfff9, 0xfffb)]
    r += [x for x in prop('PropList.txt', 'White_Space') if x[0] >= 0x80]
    r += prop('DerivedCoreProperties.txt', 'Default_Ignorable_Code_Point')
    r += prop('PropList.txt', 'Noncharacter_Code_Point')
    merged = []
    for a, b in sorted(r):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    for a, b in merged:
        print(f'\t{{ 0x{a:04x}, 0x{b:04x} }},')


if __name__ == '__main__':
    main()
