const who: string = "typescript";
console.log(`hello from ${who}`);
