console.log("hello from javascript", process.version.split(".")[0]);
