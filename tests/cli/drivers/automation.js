// A Node.js Pulumi program run by the real CLI as the Automation API runs inline programs: the program is this
// process's own function (it requires the compiled program module), served to `pulumi` through `--client`, so no
// Node.js language host is needed. `pulumi` is the one on PATH (tests/cli: the CLI under test).
//
//   node automation.js <program module> <preview|up|refresh|destroy> <project dir> <stack> <events file> [--diff]
//
// Prints what the CLI prints; writes the engine's events (the JSON objects `pulumi ... --json` streams), one per
// line, to <events file>; exits 1 with the CLI's message when the command fails.
"use strict";
const fs = require("fs");
const path = require("path");

async function main() {
    const [programModule, op, workDir, stackName, eventsFile, ...flags] = process.argv.slice(2);
    // The program's own @pulumi/pulumi: one copy of the SDK for the program and its runner.
    const automation = require.resolve("@pulumi/pulumi/automation", { paths: [path.dirname(programModule)] });
    const { LocalWorkspace, PulumiCommand, Stack } = require(automation);
    const events = [];
    const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
    // The program's exports are the stack outputs, as the language host makes them.
    const program = async () => ({ ...require(programModule) });
    const workspace = await LocalWorkspace.create({ workDir, program, pulumiCommand });
    const stack = await Stack.select(stackName, workspace);
    const options = { onEvent: event => events.push(event), onOutput: text => process.stdout.write(text) };
    const diff = flags.includes("--diff");
    try {
        switch (op) {
            case "preview": await stack.preview({ ...options, diff }); break;
            case "up": await stack.up({ ...options, diff }); break;
            case "refresh": await stack.refresh(options); break;
            case "destroy": await stack.destroy(options); break;
            default: throw new Error(`unknown command ${op}`);
        }
    } finally {
        fs.writeFileSync(eventsFile, events.map(event => JSON.stringify(event) + "\n").join(""));
    }
}

main().catch(error => {
    process.stderr.write(`${error && error.message ? error.message : error}\n`);
    process.exit(1);
});
