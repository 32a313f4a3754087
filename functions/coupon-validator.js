'use strict';
/**
 * Coupon validator: the event handler of the Realm Object Server documentation ("Data change
 * events"), as a Tributary function file.
 *
 * Each user's private realm (`/<user id>/private`) holds `Coupon` objects. When a client inserts
 * one, this function checks it and writes the result into `isValid`, inside `realm.write` on the
 * event's realm; the write syncs back to the user's devices.
 *
 * Its own write comes back. The notifier reports the handler's `isValid` write as a later change
 * event on the same realm: a *modification* of that coupon, with no insertion (and, in Tributary,
 * `changeEvent.origin === 'local'`). The handler only validates insertions, so that event is
 * recognised and left alone (it is logged, below) — the loop the documentation warns about
 * cannot start. It also writes only when the value changes,
 * so running it twice on the same coupon writes nothing the second time.
 */

/** `/<user id>/private`; user ids are 32 lowercase hex characters, as in ROS. */
const PRIVATE_REALM = /^\/([0-9a-f]+)\/private$/;

/**
 * The business rule (the documentation left it to the reader): a code is `SAVE` followed by one
 * or two digits, and a user may not redeem a coupon that names another user.
 */
function verifyCouponForUser(coupon, userId) {
  if (typeof coupon.code !== 'string' || !/^SAVE\d{1,2}$/.test(coupon.code)) return false;
  return coupon.owner == null || coupon.owner === '' || coupon.owner === userId;
}

function handleChange(changeEvent) {
  const matches = changeEvent.path.match(PRIVATE_REALM);
  const userId = matches[1];
  const couponChanges = changeEvent.changes.Coupon;
  if (!couponChanges) return; // this transaction changed other types only

  if (couponChanges.insertions.length === 0) {
    // Our own isValid write (or a client editing a coupon): nothing was inserted, nothing to
    // validate. Tributary also says whose write it was: `origin` is 'local' for this process's
    // own writes and 'remote' for downloaded ones (realm-js had no such field).
    const who = changeEvent.origin === 'local' ? 'our own write' : 'a client write';
    console.log(`${changeEvent.path}: ${couponChanges.modifications.length} coupon(s) modified by ${who}, none inserted; nothing to validate`);
    return;
  }

  const realm = changeEvent.realm;
  const coupons = realm.objects('Coupon');
  for (const couponIndex of couponChanges.insertions) {
    const coupon = coupons[couponIndex];
    if (coupon === undefined || coupon.isValid === undefined) continue; // no isValid property in this schema
    const isValid = verifyCouponForUser(coupon, userId);
    if (coupon.isValid === isValid) continue;
    // Attention: this write triggers a later change event for this realm (see above).
    realm.write(() => {
      coupon.isValid = isValid;
    });
    console.log(`${changeEvent.path}: coupon ${coupon.code} is ${isValid ? 'valid' : 'invalid'}`);
  }
}

module.exports = {
  name: 'coupon-validator',
  pathRegex: PRIVATE_REALM,
  onchange: handleChange,
  verifyCouponForUser,
};
