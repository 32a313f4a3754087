// Coupon validator: an event-handler program in the form the Realm Object Server documentation
// gave it ("Data change events"), for the realm-js 2.x server-side API. Under Tributary it runs
// as written; only the line that loads the SDK changed ('realm' became 'tributary').
//
// Configuration comes from the environment so the file itself never needs editing:
//   SERVER_URL    realm://host:port of the server        (default realm://127.0.0.1:9080)
//   AUTH_URL      http://host:port for logging in          (default: SERVER_URL with http)
//   ADMIN_TOKEN   the admin token (`tributary token` prints it)
//   FEATURE_TOKEN accepted and ignored (ROS needed one to unlock event handling)

var Realm = require('tributary');

var SERVER_URL = process.env.SERVER_URL || 'realm://127.0.0.1:9080';
var AUTH_URL = process.env.AUTH_URL || SERVER_URL.replace(/^realm/, 'http');
var ADMIN_TOKEN = process.env.ADMIN_TOKEN || 'paste the output of `tributary token` here';
var FEATURE_TOKEN = process.env.FEATURE_TOKEN || 'no feature token needed';

// Only user-scoped private realms: /<user id>/private
var NOTIFIER_PATH = '^/([0-9a-f]+)/private$';

// The rule for a valid coupon: SAVE followed by one or two digits.
function verifyCouponForUser(coupon, userId) {
  return /^SAVE\d{1,2}$/.test(coupon.code);
}

// Called with a change event for every changeset of a matching realm: the path, the realm after
// the change, the realm before it, and per object type the indexes of inserted, deleted and
// modified objects.
function handleChange(changeEvent) {
  var counts = Object.keys(changeEvent.changes).map(function (type) {
    var c = changeEvent.changes[type];
    return type + ' +' + c.insertions.length + ' ~' + c.modifications.length + ' -' + c.deletions.length;
  });
  console.log('change event', changeEvent.path, counts.join(' '));

  // The user id is the first path component.
  var matches = changeEvent.path.match(/^\/([0-9a-f]+)\/private$/);
  var userId = matches[1];

  var realm = changeEvent.realm;
  var coupons = realm.objects('Coupon');
  var couponIndexes = changeEvent.changes.Coupon.insertions;

  for (var i = 0; i < couponIndexes.length; i++) {
    var coupon = coupons[couponIndexes[i]];
    if (coupon.isValid !== undefined) {
      var isValid = verifyCouponForUser(coupon, userId);
      // Attention: this write triggers a later change event for this realm. It has no
      // insertions, so this handler does nothing with it and the loop stops there.
      realm.write(function () {
        coupon.isValid = isValid;
      });
      console.log('coupon', coupon.code, isValid ? 'valid' : 'invalid');
    }
  }
}

// Unlock the event handling API (ROS Professional/Enterprise); Tributary accepts and ignores it.
Realm.Sync.setFeatureToken(FEATURE_TOKEN);

// The admin user, from the admin token.
var adminUser = Realm.Sync.User.adminUser(ADMIN_TOKEN, AUTH_URL);

// Register the handler for every matching realm.
Realm.Sync.addListener(SERVER_URL, adminUser, NOTIFIER_PATH, 'change', handleChange);

console.log('Listening for Realm changes');
