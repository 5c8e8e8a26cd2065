import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ApiError } from '../domain/errors.ts';

/** The ninjs generation a document belongs to, and Superdesk's 1.x dialect. */
export type Flavour = '1' | '2' | '3' | 'superdesk';

const addFormats = addFormatsModule as unknown as (ajv: Ajv | Ajv2020) => void;
const schemaPath = (v: string) => new URL(`./schemas/ninjs-schema_${v}.json`, import.meta.url);
const load = (v: string) => JSON.parse(readFileSync(schemaPath(v), 'utf8')) as Record<string, unknown>;

const SCHEMA_1 = load('1.6');
let validators: Record<'1' | '2' | '3', ValidateFunction> | null = null;

/** Compiled once, on first use (ajv compilation of the three IPTC schemas takes a moment). */
function compiled(): Record<'1' | '2' | '3', ValidateFunction> {
  if (validators) return validators;
  const draft7 = new Ajv({ allErrors: true, strict: false });
  const draft2020 = new Ajv2020({ allErrors: true, strict: false });
  addFormats(draft7);
  addFormats(draft2020);
  // ninjs 2.x/3.x refer to the GeoJSON schema for place geometry; it cannot be fetched here, so a place's
  // geometry is only checked to be an object with a type.
  draft2020.addSchema({ $id: 'https://geojson.org/schema/GeoJSON.json', type: 'object', required: ['type'] });
  validators = { '1': draft7.compile(SCHEMA_1), '2': draft2020.compile(load('2.2')), '3': draft2020.compile(load('3.1')) };
  return validators;
}

const CAMEL_KEYS = /"(versionCreated|firstCreated|contentCreated|pubStatus|copyrightHolder|copyrightNotice|usageTerms|edNote|altIds|representationType|contentType|sizeInBytes|charCount|wordCount|infoSources|trustIndicators|eventDetails)"\s*:/;

/** Which ninjs a document is: its declared standard when it says, else its shape. */
export function detectFlavour(doc: Record<string, unknown>): Flavour {
  const std = (doc.$standard ?? doc.standard) as { version?: unknown } | undefined;
  const declared = typeof std?.version === 'string' ? std.version.split('.')[0] : undefined;
  if (declared === '1' || declared === '2' || declared === '3') return declared;
  if (typeof doc.guid === 'string' && doc.uri === undefined) return 'superdesk';
  if (CAMEL_KEYS.test(JSON.stringify(doc))) return '3';
  if (['headlines', 'bodies', 'descriptions', 'subjects', 'by'].some((k) => k in doc)) return '2';
  if (Array.isArray(doc.renditions) || Array.isArray(doc.associations)) return '2';
  return '1';
}

const SUPERDESK_DATE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)([+-])(\d\d)(\d\d)$/;

/** Superdesk writes offsets without a colon (`+0000`); ISO 8601 / RFC 3339 want `+00:00`. */
export function fixDate(value: string): string {
  const m = SUPERDESK_DATE.exec(value);
  return m ? `${m[1]}${m[2]}${m[3]}:${m[4]}` : value;
}

function fixDates(value: unknown): unknown {
  if (typeof value === 'string') return fixDate(value);
  if (Array.isArray(value)) return value.map(fixDates);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fixDates(v)]));
  return value;
}

type Schema = { $ref?: string; type?: string; properties?: Record<string, Schema>; patternProperties?: Record<string, Schema>; additionalProperties?: unknown; items?: Schema };

/** Drops what the 1.6 schema does not know (Superdesk's extensions: priority, service, extra, authors, poi, ...). */
function prune(schema: Schema, data: unknown): unknown {
  const s = schema.$ref === '#' ? (SCHEMA_1 as Schema) : schema;
  if (Array.isArray(data)) return s.items ? data.map((d) => prune(s.items!, d)) : data;
  if (!data || typeof data !== 'object') return data;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    const sub = s.properties?.[k] ?? Object.entries(s.patternProperties ?? {}).find(([p]) => new RegExp(p).test(k))?.[1];
    if (sub) out[k] = prune(sub, v);
    else if (s.additionalProperties !== false) out[k] = v;
  }
  return out;
}

/**
 * What a Superdesk document looks like once its known deviations are put right: `guid` as `uri`, dates with a
 * colon in the offset, and its extension fields set aside. The rest must then be valid ninjs 1.6.
 */
export function superdeskAsNinjs(doc: Record<string, unknown>): Record<string, unknown> {
  const withUri = (d: unknown): unknown => {
    if (Array.isArray(d)) return d.map(withUri);
    if (!d || typeof d !== 'object') return d;
    const o = { ...(d as Record<string, unknown>) };
    if (typeof o.guid === 'string' && o.uri === undefined) o.uri = /^[a-z][a-z0-9+.-]*:/i.test(o.guid) ? o.guid : `urn:uuid:${o.guid}`;
    if (o.associations && typeof o.associations === 'object') {
      o.associations = Object.fromEntries(Object.entries(o.associations as Record<string, unknown>).map(([k, v]) => [k, withUri(v)]));
    }
    return o;
  };
  return prune(SCHEMA_1 as Schema, withUri(fixDates(doc))) as Record<string, unknown>;
}

function details(errors: ErrorObject[] | null | undefined) {
  return (errors ?? []).slice(0, 50).map((e) => {
    const extra = (e.params as { additionalProperty?: string; unevaluatedProperty?: string; missingProperty?: string });
    const key = extra.additionalProperty ?? extra.unevaluatedProperty ?? extra.missingProperty;
    const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    return { field: [path, key].filter(Boolean).join('.') || '(document)', message: e.message ?? 'invalid' };
  });
}

/** Validates against the official IPTC schema of the document's flavour; throws validation_failed with its complaints. */
export function validateNinjs(doc: unknown): Flavour {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ApiError('validation_failed', 'The body is not a ninjs document (a JSON object).', [{ field: '(body)', message: 'a JSON object' }]);
  }
  const flavour = detectFlavour(doc as Record<string, unknown>);
  const [version, subject] = flavour === 'superdesk' ? (['1', superdeskAsNinjs(doc as Record<string, unknown>)] as const) : ([flavour, doc] as const);
  const validate = compiled()[version];
  if (!validate(subject)) {
    const name = flavour === 'superdesk' ? 'Superdesk ninjs (checked as ninjs 1.6)' : `ninjs ${version}.x`;
    throw new ApiError('validation_failed', `Not a valid ${name} document.`, details(validate.errors), { flavour });
  }
  return flavour;
}
