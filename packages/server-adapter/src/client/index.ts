// @tunekit/server-adapter/client: the typed HTTP client.
export {};
