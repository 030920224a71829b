-- wrk script for benches/load.sh: each request carries the next of the distinct tokens in
-- $TOKENS_FILE (one a line), round robin.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/auth", { ["Authorization"] = "Bearer " .. tokens[i] })
end
