SELECT
  *
FROM (
  SELECT
    "t1"."touchpoint",
    CAST(DATE_TRUNC('MONTH', CAST("t1"."ts" AS TIMESTAMP)) AS DATE) AS "period",
    SUM("t1"."n") AS "n",
    SUM(CASE WHEN "t1"."score" >= 9 THEN "t1"."n" ELSE 0 END) AS "promoters",
    SUM(
      CASE
        WHEN (
          "t1"."score" >= 7
        ) AND (
          "t1"."score" <= 8
        )
        THEN "t1"."n"
        ELSE 0
      END
    ) AS "passives",
    SUM(CASE WHEN "t1"."score" <= 6 THEN "t1"."n" ELSE 0 END) AS "detractors"
  FROM (
    SELECT
      "t0"."day" AS "ts",
      "t0"."touchpoint",
      "t0"."channel",
      "t0"."score",
      "t0"."n"
    FROM "score_daily" AS "t0"
    WHERE
      "t0"."question" = 'nps'
  ) AS "t1"
  GROUP BY
    1,
    2
) AS "t2"
ORDER BY
  "t2"."touchpoint" ASC,
  "t2"."period" ASC
