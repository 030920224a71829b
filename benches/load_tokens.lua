-- wrk script for benches/load.sh: each request carries the next of the distinct tokens in
-- $TOKENS_FILE (one a line), round robin; with ONCE=1 each token is sent once, and the run
-- stops when they are used up (never-seen tokens).
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local once = os.getenv("ONCE") == "1"
local i = 0
request = function()
  i = i + 1
  if i > #tokens then
    if once then
      wrk.thread:stop()
    end
    i = 1
  end
  return wrk.format("GET", "/auth", { ["Authorization"] = "Bearer " .. tokens[i] })
end
