// Test infrastructure shared by the packages' test suites: a real Knot DNS server with zone files
// rendered from core zones, a proxy that drops or fails chosen questions, fake DNS servers that
// never answer or answer garbage, the resolver contract suite, and the OpenSPF suite loader.
// Never a runtime dependency of mailward itself.
export * from './dns-client.js';
export * from './dropping-proxy.js';
export * from './fake-servers.js';
export * from './knot.js';
export * from './openspf-runner.js';
export * from './openspf-suite.js';
export * from './packets.js';
export * from './peers/dkimpy.js';
export * from './peers/opendkim.js';
export * from './peers/process.js';
export * from './ports.js';
export * from './resolver-contract.js';
export * from './serve-zone.js';
export * from './testdata.js';
export * from './zone-file.js';
export * from './dovecot.js';
export * from './certificate.js';
export * from './unbound.js';
export * from './npm-registry.js';
export * from './smtp-sink.js';
export * from './smtp-client.js';
export * from './postfix.js';
export * from './exim.js';
