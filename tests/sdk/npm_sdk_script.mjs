// Drives the published npm `dify-client@2.3.2` against the mock: every call the SDK offers, printed
// as one JSON document for tests/sdk/test_npm_sdk.py to check. argv: base URL of the mock's /v1.
import { ChatClient, CompletionClient, DifyClient } from "dify-client";

const base = process.argv[2];
const out = {};
const chat = new ChatClient("app-chat", base);
const completion = new CompletionClient("app-completion", base);
const workflow = new CompletionClient("app-workflow", base);
const plain = new DifyClient("app-chat", base);

async function capture(name, call) {
  try {
    const response = await call();
    out[name] = { status: response.status, data: response.data };
  } catch (error) {
    out[name] = { status: error.response?.status, data: error.response?.data, thrown: true };
  }
}

async function streamed(response) {
  let text = "";
  for await (const chunk of response.data) text += chunk.toString();
  return text;
}

await capture("parameters", () => plain.getApplicationParameters("npm-user"));
await capture("chat", () => chat.createChatMessage({}, "hello from npm", "npm-user"));
const conversationId = out.chat.data.conversation_id;
await capture("follow_up", () => chat.createChatMessage({}, "and again", "npm-user", false, conversationId));
const streamResponse = await chat.createChatMessage({}, "stream please", "npm-user", true);
out.chat_stream = { status: streamResponse.status, contentType: streamResponse.headers["content-type"], body: await streamed(streamResponse) };
await capture("conversations", () => chat.getConversations("npm-user", "ignored-first-id", 1));
await capture("messages", () => chat.getConversationMessages("npm-user", conversationId));
await capture("messages_without_conversation", () => chat.getConversationMessages("npm-user"));
await capture("feedback", () => chat.messageFeedback(out.chat.data.message_id, "like", "npm-user"));
await capture("rename", () => chat.renameConversation(conversationId, "Renamed by npm", "npm-user", false));
await capture("auto_rename", () => chat.renameConversation(conversationId, null, "npm-user", true));
await capture("completion", () => completion.createCompletionMessage({ topic: "otters" }, "npm-user"));
await capture("workflow", () => workflow.runWorkflow({ query: "two words" }, "npm-user"));
const form = new FormData();
form.append("user", "npm-user");
form.append("file", new Blob(["hello"], { type: "text/plain" }), "notes.txt");
await capture("upload", () => plain.fileUpload(form));
await capture("delete", () => chat.deleteConversation(conversationId, "npm-user"));
await capture("after_delete", () => chat.getConversations("npm-user"));
const wrong = new ChatClient("app-not-a-key", base);
await capture("wrong_key", () => wrong.createChatMessage({}, "hi", "npm-user"));
console.log(JSON.stringify(out));
