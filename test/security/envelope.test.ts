import { describe, expect, it } from 'vitest';
import { Envelope, ENCRYPTED_V1, ENCRYPTION_OVERHEAD_BYTES, LABEL_HEADER, NONCE_BYTES } from '../../src/security/envelope.js';
import { generateKey, Keyring } from '../../src/security/keyring.js';

const k1 = generateKey();
const k2 = generateKey();
const ring = (...keys: string[]): Keyring => Keyring.fromBase64(keys);
const payload = Buffer.from([1, 0x91, 0xc0]); // a codec packet starts with version byte 1

describe('envelope', () => {
  it('round-trips an encrypted packet and never reuses a nonce', () => {
    const e = new Envelope({ keyring: ring(k1), label: '' });
    const a = e.seal(payload);
    const b = e.seal(payload);
    expect(a[0]).toBe(ENCRYPTED_V1);
    expect(a.length).toBe(payload.length + ENCRYPTION_OVERHEAD_BYTES);
    expect(a.subarray(1, 1 + NONCE_BYTES).equals(b.subarray(1, 1 + NONCE_BYTES))).toBe(false);
    expect(a.includes(payload)).toBe(false);
    const r = e.open(a);
    expect(r).toEqual({ ok: true, payload, encrypted: true });
  });

  it('decrypts with any installed key but encrypts with the primary only', () => {
    const old = new Envelope({ keyring: ring(k1), label: '' });
    const rotating = new Envelope({ keyring: ring(k2, k1), label: '' });
    expect(rotating.open(old.seal(payload)).ok).toBe(true);
    expect(old.open(rotating.seal(payload))).toEqual({ ok: false, reason: 'decrypt-failed' });
  });

  it('drops a packet sealed with another key, a flipped bit, a truncated one, and plaintext, each by reason', () => {
    const e = new Envelope({ keyring: ring(k1), label: '' });
    const other = new Envelope({ keyring: ring(k2), label: '' });
    expect(e.open(other.seal(payload))).toEqual({ ok: false, reason: 'decrypt-failed' });
    const sealed = e.seal(payload);
    for (let i = 1; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i] = (bad[i] as number) ^ 0x01;
      expect(e.open(bad)).toEqual({ ok: false, reason: 'decrypt-failed' });
    }
    expect(e.open(sealed.subarray(0, 10))).toEqual({ ok: false, reason: 'truncated' });
    expect(e.open(payload)).toEqual({ ok: false, reason: 'unencrypted' });
    expect(new Envelope({ keyring: null, label: '' }).open(sealed)).toEqual({ ok: false, reason: 'no-key' });
  });

  it('checks the cluster label on plaintext and authenticates it when encrypted', () => {
    const blue = new Envelope({ keyring: null, label: 'blue' });
    const green = new Envelope({ keyring: null, label: 'green' });
    const none = new Envelope({ keyring: null, label: '' });
    const sealed = blue.seal(payload);
    expect(sealed[0]).toBe(LABEL_HEADER);
    expect(blue.open(sealed)).toEqual({ ok: true, payload, encrypted: false });
    expect(green.open(sealed)).toEqual({ ok: false, reason: 'label-mismatch' });
    expect(none.open(sealed)).toEqual({ ok: false, reason: 'label-mismatch' });
    expect(blue.open(none.seal(payload))).toEqual({ ok: false, reason: 'label-mismatch' });
    expect(blue.open(Buffer.from([LABEL_HEADER, 9, 1]))).toEqual({ ok: false, reason: 'label-malformed' });

    // Encrypted: rewriting the clear label header (same length) breaks authentication.
    const eb = new Envelope({ keyring: ring(k1), label: 'aaaa' });
    const eb2 = new Envelope({ keyring: ring(k1), label: 'bbbb' });
    const enc = eb.seal(payload);
    const relabelled = Buffer.from(enc);
    relabelled.write('bbbb', 2, 'utf8');
    expect(eb2.open(relabelled)).toEqual({ ok: false, reason: 'decrypt-failed' });
    expect(eb.open(enc).ok).toBe(true);
  });

  it('transition modes: send-plaintext sends plaintext and accepts both; accept-plaintext encrypts and accepts both', () => {
    const step1 = new Envelope({ keyring: ring(k1), label: '', transition: 'send-plaintext' });
    const step2 = new Envelope({ keyring: ring(k1), label: '', transition: 'accept-plaintext' });
    const strict = new Envelope({ keyring: ring(k1), label: '' });
    const plain = new Envelope({ keyring: null, label: '' });
    expect(step1.seal(payload).equals(payload)).toBe(true);
    expect(step2.seal(payload)[0]).toBe(ENCRYPTED_V1);
    for (const from of [plain, step1, step2]) expect(step1.open(from.seal(payload)).ok).toBe(true);
    expect(step2.open(plain.seal(payload))).toEqual({ ok: true, payload, encrypted: false });
    expect(strict.open(plain.seal(payload))).toEqual({ ok: false, reason: 'unencrypted' });
    expect(strict.open(step2.seal(payload)).ok).toBe(true);
    // Key operations are sealed encrypted even in step 1.
    expect(step1.seal(payload, true)[0]).toBe(ENCRYPTED_V1);
  });
});
