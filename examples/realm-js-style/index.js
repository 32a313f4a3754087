'use strict';
// A program written for realm-js 2.x and the Realm Object Server. The only change is the line
// below: it was `require('realm')`; an installed application writes `require('tributary')`.
// (Inside this repository the example loads the sources directly.)
const Realm = require('../../src/index');

const SERVER_URL = process.env.SERVER_URL || 'http://127.0.0.1:9080';
const ADMIN_TOKEN = process.env.ADMIN_TOKEN;
const USERNAME = process.env.EXAMPLE_USER || 'alice';
const PASSWORD = process.env.EXAMPLE_PASSWORD || 'secret';

const ProjectSchema = {
  name: 'Project',
  primaryKey: 'name',
  properties: {
    name: 'string',
    tasks: { type: 'linkingObjects', objectType: 'Task', property: 'project' },
  },
};

class Task extends Realm.Object {
  get summary() {
    return `${this.title} (p${this.priority}${this.done ? ', done' : ''})`;
  }
}
Task.schema = {
  name: 'Task',
  primaryKey: 'id',
  properties: {
    id: 'string',
    title: 'string',
    priority: { type: 'int', default: 1 },
    done: { type: 'bool', default: false },
    tags: 'string[]',
    project: 'Project',
  },
};

Realm.Sync.setFeatureToken('not-needed-any-more');

function loginOrRegister(callback) {
  Realm.Sync.User.login(SERVER_URL, USERNAME, PASSWORD, (error, user) => {
    if (!error) return callback(null, user);
    Realm.Sync.User.register(SERVER_URL, USERNAME, PASSWORD, callback);
  });
}

function main(user) {
  const realmUrl = SERVER_URL.replace(/^http/, 'realm') + '/~/tasks';
  return Realm.open({ schema: [ProjectSchema, Task], sync: { user: user, url: realmUrl, error: (session, error) => console.log('sync error', error.message) } }).then((realm) => {
    const open = realm.objects('Task').filtered('done == false').sorted([['priority', true], ['title', false]]);
    open.addListener((tasks, changes) => {
      console.log(`listener: ${tasks.length} open, insertions=${JSON.stringify(changes.insertions)} deletions=${JSON.stringify(changes.deletions)} modifications=${JSON.stringify(changes.modifications)}`);
    });

    return new Promise((resolve) => setTimeout(resolve, 10)).then(() => {
      realm.write(() => {
        const home = realm.create('Project', { name: 'home' }, true);
        realm.create('Task', { id: 't1', title: 'Water plants', priority: 2, project: home, tags: ['garden'] }, true);
        realm.create('Task', { id: 't2', title: 'Pay bills', priority: 3, project: home }, true);
        realm.create('Task', { id: 't3', title: 'Call mum', project: { name: 'family' } }, true);
      });
      realm.write(() => {
        const t1 = realm.objectForPrimaryKey('Task', 't1');
        t1.done = true;
        t1.tags.push('weekly');
      });

      console.log('open tasks: ' + open.map((t) => t.summary).join('; '));
      for (const i in open) console.log(`  #${i} ${open[i].title}`);
      const home = realm.objectForPrimaryKey('Project', 'home');
      console.log(`home has ${home.tasks.length} tasks; urgent: ${realm.objects('Task').filtered('priority >= $0 AND project.name == $1', 2, 'home').length}`);
      console.log(`max priority ${realm.objects('Task').max('priority')}, task is Realm.Object: ${realm.objects('Task')[0] instanceof Realm.Object}`);
      console.log('json: ' + JSON.stringify(realm.objectForPrimaryKey('Task', 't1')));

      return realm.syncSession.uploadAllLocalChanges().then(() => realm);
    });
  });
}

function readAsAdmin(user) {
  if (!ADMIN_TOKEN) return Promise.resolve();
  const admin = Realm.Sync.User.adminUser(ADMIN_TOKEN, SERVER_URL);
  const url = SERVER_URL.replace(/^http/, 'realm') + '/' + user.identity + '/tasks';
  return Realm.open({ sync: { user: admin, url: url }, path: 'admin-copy.db' }).then((realm) => {
    const names = realm.objects('Task').sorted('title').map((t) => t.title);
    console.log(`admin sees ${names.length} tasks: ${names.join(', ')}`);
    realm.close();
  });
}

loginOrRegister((error, user) => {
  if (error) {
    console.error('login failed: ' + error.message);
    process.exit(1);
  }
  main(user)
    .then((realm) => readAsAdmin(user).then(() => realm.close()))
    .then(() => {
      user.logout();
      console.log('done');
      process.exit(0);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
});
