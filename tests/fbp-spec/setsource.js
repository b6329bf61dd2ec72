// Sends a component's source and its fbp-spec tests to a runtime with component:source, as an
// FBP editor does, and waits for the runtime's `component` answer (or its error):
//   node setsource.js ADDRESS SECRET NAME CODE_FILE TESTS_FILE
// fbp-client is fbp-spec's own client, pinned with it by package-lock.json.
const fs = require('fs');
const fbpClient = require('fbp-client');

const [address, secret, name, codeFile, testsFile] = process.argv.slice(2);
const source = {
  name,
  language: 'rust',
  code: fs.readFileSync(codeFile, 'utf-8'),
  tests: fs.readFileSync(testsFile, 'utf-8'),
};
// A hang guard for one build (the first compiles the SDK), not a timing claim.
fbpClient({ address, protocol: 'websocket', secret }, { commandTimeout: 900000 })
  .then((client) => client.connect()
    .then(() => client.protocol.component.source(source))
    .then((component) => {
      console.log(`setsource: ${component.name} built and listed`);
      return client.disconnect();
    }))
  .then(() => process.exit(0), (err) => {
    console.error(`setsource: ${err.message}`);
    process.exit(1);
  });
