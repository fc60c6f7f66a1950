// Doorstep mobile workspace: sealing a queued record to the device's public key (ADR 0024).
// The same ECIES as doorstep/mobile/sealing.py: an ephemeral ECDH P-256 key pair per record, the shared
// secret (256 bits) through HKDF-SHA-256 (salt "doorstep.mobile", info "doorstep.mobile.seal.v1") into an
// AES-256-GCM key, a 12-byte random IV, the client id as associated data. Output {epk, iv, ct}, base64url
// without padding. Nothing here can open a sealed record again: the phone keeps no private key.
"use strict";

(function () {
  const SALT = "doorstep.mobile";
  const INFO = "doorstep.mobile.seal.v1";
  const encoder = new TextEncoder();

  function b64e(bytes) {
    const data = new Uint8Array(bytes);
    let text = "";
    const chunk = 0x8000;
    for (let i = 0; i < data.length; i += chunk) {
      text += String.fromCharCode.apply(null, data.subarray(i, i + chunk));
    }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function b64d(text) {
    const plain = String(text).replace(/-/g, "+").replace(/_/g, "/");
    const padded = plain + "=".repeat((4 - (plain.length % 4)) % 4);
    const binary = atob(padded);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  async function seal(publicKey, record, clientId) {
    const subtle = crypto.subtle;
    const curve = { name: "ECDH", namedCurve: "P-256" };
    const peer = await subtle.importKey("raw", b64d(publicKey), curve, false, []);
    const ephemeral = await subtle.generateKey(curve, true, ["deriveBits"]);
    const shared = await subtle.deriveBits({ name: "ECDH", public: peer }, ephemeral.privateKey, 256);
    const material = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    const key = await subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: encoder.encode(SALT), info: encoder.encode(INFO) },
      material,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt"],
    );
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(String(clientId)) },
      key,
      encoder.encode(JSON.stringify(record)),
    );
    const epk = await subtle.exportKey("raw", ephemeral.publicKey);
    return { epk: b64e(epk), iv: b64e(iv), ct: b64e(ct) };
  }

  window.DoorstepSeal = { seal, b64e, b64d };
})();
