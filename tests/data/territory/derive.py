"""Filter @etalab/decoupage-administratif@6.0.0 on one département, in the layout of portal/data/aube/."""
import json, sys, os
src, dep, out = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(f'{src}/communes.json')); e = json.load(open(f'{src}/epci.json')); d = json.load(open(f'{src}/departements.json'))
com = [x for x in c if x.get('departement') == dep]
codes = {x['code'] for x in com}
ep = [x for x in e if any(m['code'] in codes for m in x['membres'])]
de = [x for x in d if x['code'] == dep]
os.makedirs(out, exist_ok=True)
def dump(name, obj):
    with open(f'{out}/{name}', 'w', encoding='utf-8') as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1)
dump(f'decoupage-communes-{dep}.json', com); dump(f'decoupage-epci-{dep}.json', ep); dump(f'decoupage-departement-{dep}.json', de)
member = {}
for x in ep:
    for m in x['membres']:
        member[m['code']] = x
lines = ['code_insee;nom;type;chef_lieu;code_departement;code_region;code_arrondissement;siren;codes_postaux;population;epci_siren;epci_nom;epci_type']
for x in com:
    m = member.get(x['code']) if x['type'] == 'commune-actuelle' else None
    lines.append(';'.join([x['code'], x['nom'], x['type'], x.get('chefLieu', ''), x['departement'], x['region'],
                           x.get('arrondissement', ''), x.get('siren', ''), '|'.join(x.get('codesPostaux', [])),
                           str(x.get('population', '')), m['code'] if m else '', m['nom'] if m else '', m['type'] if m else '']))
open(f'{out}/communes-{dep}.csv', 'w', encoding='utf-8').write('\n'.join(lines) + '\n')
