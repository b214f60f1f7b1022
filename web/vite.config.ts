import { defineConfig } from "vite";

// `npm run dev` serves the app with hot reload and forwards the API to an indexer (NEURO_INDEXER_URL, default the
// devnet's); `npm run build` writes dist/, which `neuro-indexer run --web-dir web/dist` serves.
const indexer = process.env.NEURO_INDEXER_URL ?? "http://127.0.0.1:8548";

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  server: { proxy: { "/v1": indexer } },
});
