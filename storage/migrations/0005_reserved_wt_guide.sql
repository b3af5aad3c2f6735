-- Placeholder on branch wt-guide only: migrations are numbered without gaps, and 0004-0007
-- belong to other branches. At merge, drop this file (the real 0005 comes from its branch).
SELECT 1;
