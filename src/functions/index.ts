export { FunctionsRuntime, DEFAULT_FUNCTION_TIMEOUT_MS, STATUS_FILE, STATUS_INTERVAL_MS, type FunctionsRuntimeConfig, type FunctionInfo, type FunctionStatus, type NotifierLike, type NotifierFactoryOptions } from './runtime';
export { loadFunctionFile, isFunctionFile, defaultFunctionName, DEFAULT_PATH_REGEX, FUNCTION_EXTENSIONS, FunctionLoadError, type FunctionDefinition, type FunctionEvent, type SourceLocation } from './loader';
export { FunctionLog, lastLines, type FunctionLogLevel } from './function-log';
export { FUNCTIONS_OPTIONS, resolveFunctionsOptions, describeFunctionsDefault, functionsOptionsMarkdownTable, parseMilliseconds, type FunctionsOptions, type FunctionsOptionName } from './options';
