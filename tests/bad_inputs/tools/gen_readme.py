#!/usr/bin/env python3
"""Rewrites tests/bad_inputs/README.md from tools/README.tmpl.md and the case
files (their comment lines and @expect). Run after adding or changing a case."""
import os
D=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
def rows(sub, ext):
    out=[]
    for f in sorted(os.listdir(os.path.join(D,sub))):
        if not f.endswith(ext): continue
        text=open(os.path.join(D,sub,f),'rb').read().decode('utf-8','replace')
        desc=' '.join(l[2:] for l in text.splitlines() if l.startswith('# '))
        exp=[l for l in text.splitlines() if l.startswith('@expect ')][0][len('@expect '):]
        out.append((f,desc,exp))
    return out
api=rows('api','.http'); cli=rows('cli','.cli')
s=open(os.path.join(D,'tools','README.tmpl.md')).read()
t=['| case | status | code | what |','|---|---|---|---|']
for f,desc,exp in api:
    st,codes=exp.split(' ',1)
    t.append(f"| `{f}` | {st} | `{'` or `'.join(codes.split('|'))}` | {desc} |")
c=['| case | exit | code | what |','|---|---|---|---|']
for f,desc,exp in cli:
    _,n,code=exp.split(' ')
    c.append(f"| `{f}` | exit {n} | `{code}` | {desc} |")
s=s.replace('{{API_TABLE}}','\n'.join(t)).replace('{{CLI_TABLE}}','\n'.join(c))
open(os.path.join(D,'README.md'),'w').write(s)
